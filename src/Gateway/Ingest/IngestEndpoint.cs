using System.Diagnostics;
using System.Net.WebSockets;
using LiveStream.Gateway.Api;
using LiveStream.Gateway.Options;
using LiveStream.Ingest;
using LiveStream.Streams;
using LiveStream.Gateway.Telemetry;
using Microsoft.Extensions.Options;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// <c>/stream/live/{streamKey}</c>: the only place a WebSocket is accepted, exactly once per request. The key is
/// resolved to a stream before anything else; refusals complete the upgrade and close with a code and a reason,
/// because browsers never see the HTTP status of a failed upgrade.
/// </summary>
public static partial class IngestEndpoint
{
    /// <summary>The WebSocket subprotocol of the resume protocol.</summary>
    public const string SubprotocolV1 = "livestream.v1";

    /// <summary>Name of the span of one ingest connection.</summary>
    public const string ConnectionActivityName = "livestream.ingest.connection";

    /// <summary>Maps the ingest endpoint.</summary>
    public static IEndpointRouteBuilder MapStreamIngest(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/stream/live/{streamKey}", HandleAsync);
        return endpoints;
    }

    private static async Task HandleAsync(
        HttpContext http,
        string streamKey,
        IGrainFactory grains,
        KeyResolver keys,
        IngestAdmission admission,
        TimeProvider time,
        IOptions<IngestOptions> options,
        IdleWatch idleWatch,
        GatewayIdentity gateway,
        GatewayInstruments instruments,
        IHostApplicationLifetime lifetime,
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger(typeof(IngestEndpoint));
        if (!http.WebSockets.IsWebSocketRequest)
        {
            http.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            http.Response.Headers.Upgrade = "websocket";
            await http.Response.WriteAsync("This endpoint takes a WebSocket connection.", http.RequestAborted);
            return;
        }

        // A flood from one address is refused before anything else, and before the upgrade: no socket, no lookup.
        if (!admission.TryAdmit(http.Connection.RemoteIpAddress))
        {
            instruments.Connections.Add(1, new KeyValuePair<string, object?>("outcome", "429"));
            http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(admission.Window.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await http.Response.WriteAsync("Too many new connections from this address; retry later.", http.RequestAborted);
            return;
        }

        // One span per connection, under ASP.NET Core's request span; the grain calls made for it (key lookup,
        // connect, every chunk write, disconnect) are its children through Orleans' activity propagation.
        using var activity = GatewayInstruments.ActivitySource.StartActivity(ConnectionActivityName, ActivityKind.Internal);
        activity?.SetTag("url.path", "/stream/live/[redacted]");

        // Resolve the key first: nothing else happens for a connection whose key is unknown. Lookups waiting at once
        // are bounded: beyond that, refused before any lookup.
        if (!admission.TryBeginHandshake())
        {
            instruments.Connections.Add(1, new KeyValuePair<string, object?>("outcome", "503"));
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            http.Response.Headers.RetryAfter = "1";
            await http.Response.WriteAsync("Too many connections are being set up; retry shortly.", http.RequestAborted);
            return;
        }

        KeyResolution resolution;
        try
        {
            resolution = await ResolveAsync(keys, streamKey, logger);
        }
        finally
        {
            admission.EndHandshake();
        }

        var hash = resolution.KeyHash;

        if (http.WebSockets.WebSocketRequestedProtocols.Count > 0 && !http.WebSockets.WebSocketRequestedProtocols.Contains(SubprotocolV1))
        {
            // A client that insists on a protocol we do not speak gets a plain HTTP refusal.
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsync($"Unsupported subprotocol; this endpoint speaks {SubprotocolV1} or none.", http.RequestAborted);
            return;
        }

        var protocol = http.WebSockets.WebSocketRequestedProtocols.Contains(SubprotocolV1) ? IngestProtocol.V1 : IngestProtocol.Raw;
        using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = protocol == IngestProtocol.V1 ? SubprotocolV1 : null,
            KeepAliveInterval = options.Value.KeepAliveInterval,
        });

        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            await IngestConnection.CloseQuietlyAsync(socket, CloseCodes.GatewayRestarting, "gateway restarting: reconnect elsewhere", http.RequestAborted);
            return;
        }

        if (resolution.CloseCode == 0 && !admission.OriginAllowed(http.Request.Headers.Origin))
        {
            resolution = resolution with { CloseCode = CloseCodes.OriginNotAllowed, Reason = "origin not allowed" };
        }

        if (resolution.CloseCode != 0)
        {
            instruments.Connections.Add(1, new KeyValuePair<string, object?>("outcome", resolution.CloseCode.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            activity?.SetTag("livestream.close_code", resolution.CloseCode);
            await IngestConnection.CloseQuietlyAsync(socket, resolution.CloseCode, resolution.Reason!, http.RequestAborted);
            return;
        }

        activity?.SetTag("livestream.stream_id", resolution.StreamId);
        var grain = grains.GetGrain<IStreamGrain>(resolution.StreamId!);
        using var connection = new IngestConnection(socket, grain, protocol, options.Value, time, idleWatch, instruments, logger);

        // Drain on shutdown (a redeploy): every socket is closed with 1012 and its session waits for the client.
        using var draining = lifetime.ApplicationStopping.Register(() => _ = connection.DrainAsync());
        var observer = grains.CreateObjectReference<IPublisherObserver>(connection);
        connection.Observer = observer;
        try
        {
            await RunConnectionAsync(http, socket, grain, connection, observer, hash, protocol, gateway, instruments, activity, logger);
        }
        finally
        {
            grains.DeleteObjectReference<IPublisherObserver>(observer);
        }
    }

    private static async Task RunConnectionAsync(
        HttpContext http,
        WebSocket socket,
        IStreamGrain grain,
        IngestConnection connection,
        IPublisherObserver observer,
        byte[] hash,
        IngestProtocol protocol,
        GatewayIdentity gateway,
        GatewayInstruments instruments,
        Activity? activity,
        ILogger logger)
    {
        ConnectResult connect;
        try
        {
            connect = await grain.ConnectPlacedAsync(new ConnectRequest(hash, protocol, gateway.Id, http.TraceIdentifier, observer));
        }
        catch (Exception ex) when (IsClusterFailure(ex))
        {
            LogClusterUnavailable(logger, ex);
            await IngestConnection.CloseQuietlyAsync(socket, CloseCodes.ClusterUnavailable, "cluster unavailable", http.RequestAborted);
            return;
        }

        if (!connect.Accepted)
        {
            instruments.Connections.Add(1, new KeyValuePair<string, object?>("outcome", connect.CloseCode.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            activity?.SetTag("livestream.close_code", connect.CloseCode);
            await IngestConnection.CloseQuietlyAsync(socket, connect.CloseCode, connect.Reason ?? "refused", http.RequestAborted);
            return;
        }

        instruments.Connections.Add(1, new KeyValuePair<string, object?>("outcome", "accepted"));
        activity?.SetTag("livestream.session_id", connect.SessionId);
        activity?.SetTag("livestream.protocol", protocol == IngestProtocol.V1 ? SubprotocolV1 : "raw");
        activity?.SetTag("livestream.epoch", connect.Epoch);
        LogAccepted(logger, connect.SessionId!, connect.Epoch, protocol);

        var closeCode = await connection.RunAsync(connect, http.RequestAborted);
        activity?.SetTag("livestream.close_code", closeCode);
    }

    private static async Task<KeyResolution> ResolveAsync(KeyResolver keys, string streamKey, ILogger logger)
    {
        if (streamKey.Length is 0 or > StreamKeys.MaxLength)
        {
            return new KeyResolution(null, [], CloseCodes.UnknownKey, "unknown stream key");
        }

        var hash = StreamKeys.Hash(streamKey);
        try
        {
            var streamId = await keys.ResolveAsync(hash);
            return streamId is null
                ? new KeyResolution(null, hash, CloseCodes.UnknownKey, "unknown stream key")
                : new KeyResolution(streamId, hash, 0, null);
        }
        catch (Exception ex) when (IsClusterFailure(ex))
        {
            LogClusterUnavailable(logger, ex);
            return new KeyResolution(null, hash, CloseCodes.ClusterUnavailable, "cluster unavailable");
        }
    }

    internal static bool IsClusterFailure(Exception ex) =>
        ex is OrleansException or TimeoutException or SiloUnavailableException or InvalidOperationException;

    private sealed record KeyResolution(string? StreamId, byte[] KeyHash, int CloseCode, string? Reason);

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Publisher accepted for session {SessionId}, epoch {Epoch}, protocol {Protocol}")]
    private static partial void LogAccepted(ILogger logger, string sessionId, int epoch, IngestProtocol protocol);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Cluster unavailable while admitting a publisher")]
    private static partial void LogClusterUnavailable(ILogger logger, Exception exception);
}

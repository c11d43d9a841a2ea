using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using Microsoft.AspNetCore.Mvc;

namespace LiveStream.Gateway.Api;

/// <summary>The admin API (<c>docs/api.md</c>): streams, sessions, archives. Every route needs the admin token.</summary>
public static class StreamsApi
{
    private const int ArchiveReadBytes = 1024 * 1024;

    /// <summary>Maps <c>/api/streams…</c> and <c>/api/sessions…</c>.</summary>
    public static IEndpointRouteBuilder MapStreamsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").AddEndpointFilter<AdminAuthFilter>();
        api.MapPost("/streams", CreateAsync);
        api.MapGet("/streams", ListAsync);
        api.MapGet("/streams/{id}", GetAsync);
        api.MapPatch("/streams/{id}", UpdateAsync);
        api.MapDelete("/streams/{id}", DeleteAsync);
        api.MapPost("/streams/{id}/rotate-key", RotateKeyAsync);
        api.MapGet("/streams/{id}/sessions", ListSessionsAsync);
        api.MapGet("/sessions/{sessionId}", GetSessionAsync);
        api.MapPost("/sessions/{sessionId}/stop", StopSessionAsync);
        api.MapGet("/sessions/{sessionId}/archive", GetArchiveAsync);
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(HttpContext http, IGrainFactory grains, Ingest.KeyResolver keys, [FromBody] CreateStreamRequest? body)
    {
        var definition = StreamDefinition.Parse(body, update: false);
        if (definition.Errors.Count > 0)
        {
            return Invalid(definition.Errors);
        }

        var id = SessionIds.NewStreamId();
        var key = StreamKeys.NewKey();
        var hash = StreamKeys.Hash(key);
        var settings = new StreamSettings(definition.ReconnectWindowSeconds!.Value, definition.DuplicatePolicy!.Value);
        var command = new CreateStreamCommand(string.IsNullOrEmpty(definition.Name) ? id : definition.Name, hash, definition.Outputs!, settings, definition.Webhook);
        var info = await grains.GetGrain<IStreamGrain>(id).CreateAsync(command);
        await grains.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey).RegisterAsync(id, hash);
        keys.Known(hash);

        var response = new StreamCreatedResponse(
            info.Id,
            info.Name,
            key,
            IngestUrl(http.Request, key),
            ApiMapping.Outputs(info.Outputs, redact: false),
            ApiMapping.Name(info.State),
            info.Settings.ReconnectWindowSeconds,
            ApiMapping.Name(info.Settings.DuplicatePolicy),
            info.CreatedAt,
            WebhookShownOnce(info, definition.Webhook));
        return Results.Created($"/api/streams/{info.Id}", response);
    }

    private static async Task<IResult> UpdateAsync(string id, IGrainFactory grains, [FromBody] CreateStreamRequest? body)
    {
        var definition = StreamDefinition.Parse(body, update: true);
        if (definition.Errors.Count > 0)
        {
            return Invalid(definition.Errors);
        }

        var info = SessionIds.IsStreamId(id)
            ? await grains.GetGrain<IStreamGrain>(id).UpdateAsync(new UpdateStreamCommand(
                definition.Name is { Length: > 0 } name ? name : null,
                definition.Outputs,
                definition.ReconnectWindowSeconds,
                definition.DuplicatePolicy,
                definition.Webhook,
                definition.RemoveWebhook))
            : null;
        return info is null ? NotFound("stream") : Results.Ok(StreamResponse.From(info) with { Webhook = WebhookShownOnce(info, definition.Webhook) });
    }

    private static async Task<IResult> DeleteAsync(string id, IGrainFactory grains) =>
        SessionIds.IsStreamId(id) && await grains.GetGrain<IStreamGrain>(id).DeleteAsync()
            ? Results.NoContent()
            : NotFound("stream");

    private static async Task<IResult> RotateKeyAsync(string id, HttpContext http, IGrainFactory grains, Ingest.KeyResolver keys, bool keepLiveSession = false)
    {
        var key = StreamKeys.NewKey();
        if (!SessionIds.IsStreamId(id) || !await grains.GetGrain<IStreamGrain>(id).RotateKeyAsync(StreamKeys.Hash(key), keepLiveSession))
        {
            return NotFound("stream");
        }

        keys.Known(StreamKeys.Hash(key));

        return Results.Ok(new KeyRotatedResponse(id, key, IngestUrl(http.Request, key)));
    }

    private static async Task<IResult> StopSessionAsync(string sessionId, IGrainFactory grains)
    {
        if (SessionIds.StreamIdOf(sessionId) is not { } streamId)
        {
            return NotFound("session");
        }

        var grain = grains.GetGrain<IStreamGrain>(streamId);
        var before = await grain.GetSessionAsync(sessionId);
        if (before is null)
        {
            return NotFound("session");
        }

        if (before.State is not (SessionState.Active or SessionState.Disconnected))
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The session is not live", detail: $"It is {ApiMapping.Name(before.State)}.");
        }

        var after = await grain.StopSessionAsync(sessionId);
        return after is null ? NotFound("session") : Results.Ok(SessionResponse.From(after));
    }

    private static async Task<IResult> ListAsync(IGrainFactory grains)
    {
        var ids = await grains.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey).ListAsync();
        var infos = await Task.WhenAll(ids.Select(id => grains.GetGrain<IStreamGrain>(id).GetAsync()));
        return Results.Ok(infos.OfType<StreamInfo>().Select(StreamResponse.From).ToList());
    }

    private static async Task<IResult> GetAsync(string id, IGrainFactory grains)
    {
        var info = SessionIds.IsStreamId(id) ? await grains.GetGrain<IStreamGrain>(id).GetAsync() : null;
        return info is null ? NotFound("stream") : Results.Ok(StreamResponse.From(info));
    }

    private static async Task<IResult> ListSessionsAsync(string id, IGrainFactory grains)
    {
        if (!SessionIds.IsStreamId(id))
        {
            return NotFound("stream");
        }

        var grain = grains.GetGrain<IStreamGrain>(id);
        if (await grain.GetAsync() is null)
        {
            return NotFound("stream");
        }

        var sessions = await grain.ListSessionsAsync();
        return Results.Ok(sessions.Select(SessionResponse.From).ToList());
    }

    private static async Task<IResult> GetSessionAsync(string sessionId, IGrainFactory grains)
    {
        var status = SessionIds.StreamIdOf(sessionId) is { } streamId
            ? await grains.GetGrain<IStreamGrain>(streamId).GetSessionAsync(sessionId)
            : null;
        return status is null ? NotFound("session") : Results.Ok(SessionResponse.From(status));
    }

    private static async Task GetArchiveAsync(string sessionId, HttpContext http, IGrainFactory grains)
    {
        var cancellationToken = http.RequestAborted;
        if (SessionIds.StreamIdOf(sessionId) is not { } streamId)
        {
            await NotFound("session").ExecuteAsync(http);
            return;
        }

        var grain = grains.GetGrain<IStreamGrain>(streamId);
        var first = await grain.ReadArchiveAsync(sessionId, 0, ArchiveReadBytes);
        if (!first.Found)
        {
            await NotFound("archive").ExecuteAsync(http);
            return;
        }

        // The archive is read in slices through the grain, so it works wherever the silo's disk is.
        http.Response.ContentType = "application/octet-stream";
        var read = first;
        long offset = 0;
        while (read.Data.Length > 0)
        {
            await http.Response.Body.WriteAsync(read.Data, cancellationToken);
            offset += read.Data.Length;
            read = await grain.ReadArchiveAsync(sessionId, offset, ArchiveReadBytes);
        }
    }

    /// <summary>The webhook with its secret, in the one response that set it; else as any read shows it.</summary>
    private static WebhookResponse? WebhookShownOnce(StreamInfo info, WebhookSpec? set) =>
        info.WebhookUrl is null ? null : new WebhookResponse(info.WebhookUrl, set?.Secret);

    private static string IngestUrl(HttpRequest request, string key) =>
        $"{(request.IsHttps ? "wss" : "ws")}://{request.Host}{request.PathBase}/stream/live/{key}";

    private static IResult Invalid(IReadOnlyList<string> errors) =>
        Results.ValidationProblem(new Dictionary<string, string[]> { ["body"] = [.. errors] });

    private static IResult NotFound(string what) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"No such {what}");
}

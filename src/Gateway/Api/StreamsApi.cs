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
        api.MapGet("/streams/{id}/sessions", ListSessionsAsync);
        api.MapGet("/sessions/{sessionId}", GetSessionAsync);
        api.MapGet("/sessions/{sessionId}/archive", GetArchiveAsync);
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(HttpContext http, IGrainFactory grains, [FromBody] CreateStreamRequest? body)
    {
        var (outputs, errors) = OutputValidation.Parse(body?.Outputs);
        var errorList = errors.ToList();
        var name = body?.Name?.Trim();
        if (name is { Length: > 200 })
        {
            errorList.Add("name must be at most 200 characters.");
        }

        var window = body?.ReconnectWindowSeconds ?? StreamSettings.DefaultReconnectWindowSeconds;
        if (window is < 0 or > StreamSettings.MaxReconnectWindowSeconds)
        {
            errorList.Add($"reconnectWindowSeconds must be between 0 and {StreamSettings.MaxReconnectWindowSeconds}.");
        }

        var policy = DuplicatePolicy.Takeover;
        if (body?.DuplicatePolicy is { } policyText && (!Enum.TryParse(policyText, ignoreCase: true, out policy) || !Enum.IsDefined(policy) || char.IsAsciiDigit(policyText.TrimStart().FirstOrDefault())))
        {
            errorList.Add("duplicatePolicy must be takeover or reject.");
        }

        if (errorList.Count > 0)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["body"] = [.. errorList] });
        }

        var id = SessionIds.NewStreamId();
        var key = StreamKeys.NewKey();
        var hash = StreamKeys.Hash(key);
        var command = new CreateStreamCommand(string.IsNullOrEmpty(name) ? id : name, hash, outputs, new StreamSettings(window, policy));
        var info = await grains.GetGrain<IStreamGrain>(id).CreateAsync(command);
        await grains.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey).RegisterAsync(id, hash);

        var request = http.Request;
        var scheme = request.IsHttps ? "wss" : "ws";
        var response = new StreamCreatedResponse(
            info.Id,
            info.Name,
            key,
            $"{scheme}://{request.Host}{request.PathBase}/stream/live/{key}",
            ApiMapping.Outputs(info.Outputs, redact: false),
            ApiMapping.Name(info.State),
            info.Settings.ReconnectWindowSeconds,
            ApiMapping.Name(info.Settings.DuplicatePolicy),
            info.CreatedAt);
        return Results.Created($"/api/streams/{info.Id}", response);
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

    private static IResult NotFound(string what) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"No such {what}");
}

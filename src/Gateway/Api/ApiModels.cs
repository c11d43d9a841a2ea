using LiveStream.Sessions;
using LiveStream.Streams;

namespace LiveStream.Gateway.Api;

/// <summary>Body of <c>POST /api/streams</c>; every field is optional.</summary>
public sealed record CreateStreamRequest(
    string? Name,
    IReadOnlyList<OutputRequest>? Outputs,
    int? ReconnectWindowSeconds,
    string? DuplicatePolicy,
    WebhookRequest? Webhook = null);

/// <summary>A stream's own webhook receiver: <c>{"url":"https://...","secret":"..."}</c>; the secret is optional.</summary>
public sealed record WebhookRequest(string? Url, string? Secret);

/// <summary>A stream's webhook as the API shows it: the URL with its query masked; the secret only in the response that set it.</summary>
public sealed record WebhookResponse(string Url, string? Secret);

/// <summary>One output as a client writes it: <c>{"type":"rtmp","url":"rtmps://..."}</c>, <c>{"type":"hls","record":true}</c>.</summary>
public sealed record OutputRequest(string? Type, string? Url, bool? Record = null);

/// <summary>An output as the API shows it; the key part of an RTMP URL is masked after creation. <c>record</c> for HLS only.</summary>
public sealed record OutputResponse(string Type, string? Url, bool? Record = null);

/// <summary>Answer of <c>POST /api/streams</c>: the only response that carries the key.</summary>
public sealed record StreamCreatedResponse(
    string Id,
    string Name,
    string StreamKey,
    string IngestUrl,
    IReadOnlyList<OutputResponse> Outputs,
    string State,
    int ReconnectWindowSeconds,
    string DuplicatePolicy,
    DateTimeOffset CreatedAt,
    WebhookResponse? Webhook);

/// <summary>Answer of <c>POST /api/streams/{id}/rotate-key</c>: the new key, shown this once.</summary>
public sealed record KeyRotatedResponse(string Id, string StreamKey, string IngestUrl);

/// <summary>A stream, without its key.</summary>
public sealed record StreamResponse(
    string Id,
    string Name,
    IReadOnlyList<OutputResponse> Outputs,
    string State,
    string? CurrentSessionId,
    int ReconnectWindowSeconds,
    string DuplicatePolicy,
    DateTimeOffset CreatedAt,
    WebhookResponse? Webhook)
{
    public static StreamResponse From(StreamInfo info) => new(
        info.Id,
        info.Name,
        ApiMapping.Outputs(info.Outputs, redact: true),
        ApiMapping.Name(info.State),
        info.CurrentSessionId,
        info.Settings.ReconnectWindowSeconds,
        ApiMapping.Name(info.Settings.DuplicatePolicy),
        info.CreatedAt,
        info.WebhookUrl is null ? null : new WebhookResponse(info.WebhookUrl, null));
}

/// <summary>A session as the API shows it.</summary>
public sealed record SessionResponse(
    string Id,
    string StreamId,
    string State,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    int ConnectionEpoch,
    int Reconnects,
    long BytesIngested,
    FfmpegResponse Ffmpeg,
    int SupersededPublishers,
    DateTimeOffset? DisconnectedAt,
    long BufferedBytes,
    string? EndReason,
    string? HlsUrl,
    string? ArchiveUrl,
    VideoStatus? Video,
    AudioStatus? Audio,
    IReadOnlyList<string> Warnings,
    string? Silo,
    IReadOnlyList<OutputStatusResponse>? Outputs,
    SessionHealth? Health)
{
    public static SessionResponse From(SessionStatus s) => new(
        s.Id,
        s.StreamId,
        ApiMapping.Name(s.State),
        s.StartedAt,
        s.EndedAt,
        s.ConnectionEpoch,
        s.Reconnects,
        s.BytesIngested,
        new FfmpegResponse(s.Ffmpeg.Pid, s.Ffmpeg.Restarts, s.Ffmpeg.LastError),
        s.SupersededPublishers,
        s.DisconnectedAt,
        s.BufferedBytes,
        s.EndReason,
        s.HlsUrl,
        s.HasArchive ? $"/api/sessions/{s.Id}/archive" : null,
        s.Video,
        s.Audio,
        s.Warnings ?? [],
        s.Silo,
        s.Outputs is null ? null : [.. s.Outputs.Select(OutputStatusResponse.From)],
        s.Health is null ? null : s.Health with { StderrTail = s.Health.StderrTail?.Select(Media.SecretRedactor.Redact).ToList() });
}

/// <summary>One output of a live session: URL and last error with the key masked (the grain masks them; masked again here).</summary>
public sealed record OutputStatusResponse(string Type, string? Url, string State, string? LastError, int Restarts, int? Pid)
{
    public static OutputStatusResponse From(OutputStatus o) => new(
        ApiMapping.Name(o.Type),
        o.Url is null ? null : Media.SecretRedactor.Redact(o.Url),
        ApiMapping.Name(o.State),
        o.LastError is null ? null : Media.SecretRedactor.Redact(o.LastError),
        o.Restarts,
        o.Pid);
}

/// <summary>The session's FFmpeg process.</summary>
public sealed record FfmpegResponse(int? Pid, int Restarts, string? LastError);

internal static class ApiMapping
{
    public static string Name<T>(T value) where T : struct, Enum => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(value.ToString());

    public static IReadOnlyList<OutputResponse> Outputs(IEnumerable<OutputSpec> outputs, bool redact) =>
        [.. outputs.Select(o => new OutputResponse(
            Name(o.Type),
            o.Url is null || !redact ? o.Url : Media.SecretRedactor.Redact(o.Url),
            o.Type == OutputType.Hls ? o.Record : null))];
}

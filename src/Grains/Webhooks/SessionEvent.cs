namespace LiveStream.Webhooks;

/// <summary>
/// A session lifecycle event as the stream grain reports it. <see cref="Id"/> is unique per event and stays the
/// same across retries, so receivers de-duplicate by it. Never carries a stream key.
/// </summary>
public sealed record SessionEvent(
    string Id,
    string Type,
    DateTimeOffset CreatedAt,
    string StreamId,
    string SessionId,
    string? Reason = null,
    int? CloseCode = null,
    string? Output = null)
{
    /// <summary>A new event with a fresh id.</summary>
    public static SessionEvent Create(string type, DateTimeOffset createdAt, string streamId, string sessionId, string? reason = null, int? closeCode = null, string? output = null) =>
        new("evt_" + Guid.NewGuid().ToString("N"), type, createdAt, streamId, sessionId, reason, closeCode, output);
}

/// <summary>The event types (<c>docs/api.md</c>, Webhooks).</summary>
public static class SessionEventTypes
{
    /// <summary>A session started: its first publisher connected.</summary>
    public const string Active = "stream.active";

    /// <summary>The publisher was lost without a deliberate end; the reconnect window runs.</summary>
    public const string Disconnected = "stream.disconnected";

    /// <summary>A publisher came back within the reconnect window; the same session goes on.</summary>
    public const string Reconnected = "stream.reconnected";

    /// <summary>The session ended (deliberate end, reconnect window expired, stopped, deleted).</summary>
    public const string Ended = "stream.ended";

    /// <summary>The session failed (FFmpeg restart budget spent, bad media).</summary>
    public const string Failed = "stream.failed";

    /// <summary>An output stopped working while the session goes on (for now: its FFmpeg died and is restarted).</summary>
    public const string OutputFailed = "stream.output.failed";
}

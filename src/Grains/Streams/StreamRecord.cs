using LiveStream.Sessions;

namespace LiveStream.Streams;

/// <summary>A stream's persisted state: its definition and its recent sessions (newest last).</summary>
[GenerateSerializer, Alias("livestream.StreamRecord")]
public sealed class StreamRecord
{
    [Id(0)] public string Name { get; set; } = "";

    [Id(1)] public byte[] KeyHash { get; set; } = [];

    [Id(2)] public List<OutputSpec> Outputs { get; set; } = [];

    [Id(3)] public StreamSettings Settings { get; set; } = new();

    [Id(4)] public DateTimeOffset CreatedAt { get; set; }

    [Id(5)] public List<SessionRecord> Sessions { get; set; } = [];

    [Id(6)] public int LastEpoch { get; set; }

    /// <summary>Hashes of keys rotated away while <see cref="RetiredKeysSessionId"/> was live: only its publisher may use them, to reconnect.</summary>
    [Id(7)] public List<byte[]> RetiredKeyHashes { get; set; } = [];

    /// <summary>The session whose publisher may still use <see cref="RetiredKeyHashes"/>.</summary>
    [Id(8)] public string? RetiredKeysSessionId { get; set; }

    /// <summary>The stream's own webhook receiver, if any (besides the deployment's).</summary>
    [Id(9)] public WebhookSpec? Webhook { get; set; }
}

/// <summary>A session's persisted state.</summary>
[GenerateSerializer, Alias("livestream.SessionRecord")]
public sealed class SessionRecord
{
    [Id(0)] public string Id { get; set; } = "";

    [Id(1)] public SessionState State { get; set; }

    [Id(2)] public DateTimeOffset StartedAt { get; set; }

    [Id(3)] public DateTimeOffset? EndedAt { get; set; }

    [Id(4)] public int ConnectionEpoch { get; set; }

    [Id(5)] public int Reconnects { get; set; }

    [Id(6)] public long BytesIngested { get; set; }

    [Id(7)] public int? FfmpegPid { get; set; }

    /// <summary>FFmpeg starts after the session's first, under any owner (see <c>RestartPolicy</c>).</summary>
    [Id(8)] public int FfmpegRestarts { get; set; }

    [Id(9)] public int SupersededPublishers { get; set; }

    [Id(10)] public DateTimeOffset? DisconnectedAt { get; set; }

    [Id(11)] public string? EndReason { get; set; }

    [Id(12)] public string? HlsUrl { get; set; }

    [Id(13)] public bool HasArchive { get; set; }

    [Id(14)] public int CloseCode { get; set; }

    /// <summary>The last line FFmpeg wrote to stderr before it last died.</summary>
    [Id(16)] public string? FfmpegLastError { get; set; }

    /// <summary>The fencing token of the lease under which this session's FFmpeg ran.</summary>
    [Id(15)] public long LeaseToken { get; set; }

    /// <summary>Of <see cref="FfmpegRestarts"/>, the starts on a new owner after the session moved (not counted against the budget).</summary>
    [Id(17)] public int FfmpegMoves { get; set; }

    public bool IsLive => State is SessionState.Active or SessionState.Disconnected;
}

/// <summary>
/// The live session's failover record: which session is live and how far its committed bytes durably reach. Written
/// before every acknowledgement (it is small: the init segment is kept apart), cleared when the session ends.
/// </summary>
[GenerateSerializer, Alias("livestream.LiveRecord")]
public sealed class LiveRecord
{
    [Id(0)] public string? SessionId { get; set; }

    [Id(1)] public long Committed { get; set; }

    /// <summary>The fencing token of the lease its writer held: a record is never replaced by a writer with an older one.</summary>
    [Id(2)] public long LeaseToken { get; set; }
}

/// <summary>The live recording's init segment (its header), written when a recording starts.</summary>
[GenerateSerializer, Alias("livestream.InitRecord")]
public sealed class InitRecord
{
    [Id(0)] public string? SessionId { get; set; }

    [Id(1)] public byte[] Segment { get; set; } = [];
}

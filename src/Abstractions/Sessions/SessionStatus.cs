namespace LiveStream.Sessions;

/// <summary>A session as the API shows it. Later issues add fields; none is ever renamed.</summary>
[GenerateSerializer, Immutable, Alias("livestream.SessionStatus")]
public sealed record SessionStatus(
    [property: Id(0)] string Id,
    [property: Id(1)] string StreamId,
    [property: Id(2)] SessionState State,
    [property: Id(3)] DateTimeOffset StartedAt,
    [property: Id(4)] DateTimeOffset? EndedAt,
    [property: Id(5)] int ConnectionEpoch,
    [property: Id(6)] int Reconnects,
    [property: Id(7)] long BytesIngested,
    [property: Id(8)] FfmpegStatus Ffmpeg,
    [property: Id(9)] int SupersededPublishers,
    [property: Id(10)] DateTimeOffset? DisconnectedAt,
    [property: Id(11)] long BufferedBytes,
    [property: Id(12)] string? EndReason,
    [property: Id(13)] string? HlsUrl,
    [property: Id(14)] bool HasArchive,
    [property: Id(15)] VideoStatus? Video = null,
    [property: Id(16)] AudioStatus? Audio = null,
    [property: Id(17)] IReadOnlyList<string>? Warnings = null,
    [property: Id(18)] string? Silo = null,
    [property: Id(19)] IReadOnlyList<OutputStatus>? Outputs = null,
    [property: Id(20)] SessionHealth? Health = null);

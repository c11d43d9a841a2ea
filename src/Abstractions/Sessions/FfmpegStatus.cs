namespace LiveStream.Sessions;

/// <summary>
/// The session's FFmpeg process: its current PID (null when none runs), how often it was restarted, and the last
/// error line it wrote before it last died (secrets redacted).
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.FfmpegStatus")]
public sealed record FfmpegStatus(
    [property: Id(0)] int? Pid,
    [property: Id(1)] int Restarts,
    [property: Id(2)] string? LastError = null);

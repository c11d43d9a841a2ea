namespace LiveStream.Sessions;

/// <summary>The session's FFmpeg process: its current PID (null when none runs) and how often it was restarted.</summary>
[GenerateSerializer, Immutable, Alias("livestream.FfmpegStatus")]
public sealed record FfmpegStatus(
    [property: Id(0)] int? Pid,
    [property: Id(1)] int Restarts);

namespace LiveStream.Sessions;

/// <summary>
/// How a live session is doing right now. <see cref="Fps"/>, <see cref="Speed"/> and <see cref="OutputSeconds"/>
/// come from FFmpeg's progress reports (null while none has come, and for sessions without FFmpeg);
/// <see cref="IngestBitsPerSecond"/> from the bytes the session committed over the last few seconds, with or
/// without FFmpeg.
/// </summary>
/// <param name="Fps">Video frames FFmpeg wrote per second over the last few seconds (0 while it writes none).</param>
/// <param name="Speed">Media seconds FFmpeg wrote per wall-clock second over the last few seconds (1 = real time).</param>
/// <param name="DroppedFrames">Frames FFmpeg dropped since it started.</param>
/// <param name="DuplicatedFrames">Frames FFmpeg duplicated since it started.</param>
/// <param name="OutputSeconds">Media time FFmpeg has written, in seconds.</param>
/// <param name="IngestBitsPerSecond">Committed ingest bitrate over the last few seconds (0 when nothing came in).</param>
/// <param name="StderrTail">FFmpeg's last stderr lines (at most 20, progress reports left out, secrets masked).</param>
[GenerateSerializer, Immutable, Alias("livestream.SessionHealth")]
public sealed record SessionHealth(
    [property: Id(0)] double? Fps,
    [property: Id(1)] double? Speed,
    [property: Id(2)] long? DroppedFrames,
    [property: Id(3)] long? DuplicatedFrames,
    [property: Id(4)] double? OutputSeconds,
    [property: Id(5)] long? IngestBitsPerSecond,
    [property: Id(6)] IReadOnlyList<string>? StderrTail);

namespace LiveStream.Streams;

/// <summary>
/// One destination of a stream. <see cref="Url"/> is set for <see cref="OutputType.Rtmp"/> only.
/// <see cref="Record"/> (HLS only) keeps every segment listed and on disk (an event playlist, a recording);
/// without it live HLS keeps a sliding window of <c>LiveStream:Ffmpeg:HlsWindowSegments</c> segments.
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.OutputSpec")]
public sealed record OutputSpec(
    [property: Id(0)] OutputType Type,
    [property: Id(1)] string? Url = null,
    [property: Id(2)] bool Record = false);

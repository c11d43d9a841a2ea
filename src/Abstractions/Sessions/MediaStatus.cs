namespace LiveStream.Sessions;

/// <summary>The session's video track: its codec, whether FFmpeg passes it through (H.264) or re-encodes it, and the longest recent keyframe interval.</summary>
[GenerateSerializer, Immutable, Alias("livestream.VideoStatus")]
public sealed record VideoStatus(
    [property: Id(0)] string Codec,
    [property: Id(1)] bool Passthrough,
    [property: Id(2)] long? KeyframeIntervalMs);

/// <summary>The session's audio track.</summary>
[GenerateSerializer, Immutable, Alias("livestream.AudioStatus")]
public sealed record AudioStatus([property: Id(0)] string Codec);

namespace LiveStream.Streams;

/// <summary>Where a session's media goes.</summary>
[GenerateSerializer, Alias("livestream.OutputType")]
public enum OutputType
{
    /// <summary>Local HLS (H.264 + AAC) under the data folder, served by the gateway at <c>/hls/{sessionId}/index.m3u8</c>.</summary>
    Hls = 0,

    /// <summary>Push over RTMP or RTMPS to a platform (Mux, YouTube, Twitch).</summary>
    Rtmp = 1,

    /// <summary>The exact bytes the session committed, in order, readable at <c>/api/sessions/{sessionId}/archive</c>.</summary>
    Archive = 2,

    /// <summary>Commits and counts bytes without any process (tests and capacity runs).</summary>
    Null = 3,
}

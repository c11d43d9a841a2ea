using LiveStream.Media.Containers;

namespace LiveStream.Media;

/// <summary>Where <see cref="MediaRouter"/> sends bytes: the session pipeline, which owns FFmpeg.</summary>
internal interface IMediaFeed
{
    /// <summary>Start (or restart, for a new recording) FFmpeg for these tracks.</summary>
    void Start(IReadOnlyList<TrackInfo> tracks, bool restartOfRecording);

    /// <summary>Bytes for the current FFmpeg, in order.</summary>
    void Feed(ReadOnlySpan<byte> data);
}

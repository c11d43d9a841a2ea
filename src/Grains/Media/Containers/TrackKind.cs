namespace LiveStream.Media.Containers;

/// <summary>What a track carries.</summary>
public enum TrackKind
{
    /// <summary>Video frames.</summary>
    Video = 0,

    /// <summary>Audio frames.</summary>
    Audio = 1,

    /// <summary>Anything else (subtitles, metadata).</summary>
    Other = 2,
}

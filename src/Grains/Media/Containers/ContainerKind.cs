namespace LiveStream.Media.Containers;

/// <summary>The container format of a recording, as found in its first bytes.</summary>
public enum ContainerKind
{
    /// <summary>No recording has started yet.</summary>
    Unknown = 0,

    /// <summary>Matroska or WebM (EBML header with DocType <c>matroska</c> or <c>webm</c>).</summary>
    Matroska = 1,

    /// <summary>Fragmented MP4 (<c>ftyp</c> + <c>moov</c>, then <c>moof</c> + <c>mdat</c> pairs).</summary>
    Mp4 = 2,
}

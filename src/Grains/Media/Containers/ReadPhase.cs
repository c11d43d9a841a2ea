namespace LiveStream.Media.Containers;

/// <summary>What the streaming readers are doing with the next bytes.</summary>
internal enum ReadPhase
{
    /// <summary>Reading an element ID and size, or a box size and type.</summary>
    Header,

    /// <summary>Passing over a payload the reader does not need (frames, mdat, Cues).</summary>
    Skip,

    /// <summary>Buffering a small element whole to parse it (EBML header, Info, Tracks, Timestamp, ftyp, moov, moof).</summary>
    Collect,

    /// <summary>Reading the first bytes of a SimpleBlock or Block: track number, relative timestamp, flags.</summary>
    BlockHeader,
}

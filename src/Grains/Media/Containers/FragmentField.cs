namespace LiveStream.Media.Containers;

/// <summary>The fields a splice rewrites in place (see <see cref="IContainerSink.OnFragmentField"/>).</summary>
public enum FragmentField
{
    /// <summary><c>mfhd</c> sequence_number (4 bytes).</summary>
    SequenceNumber,

    /// <summary><c>tfhd</c> track_ID (4 bytes).</summary>
    TrackId,

    /// <summary><c>tfdt</c> version 0 baseMediaDecodeTime (4 bytes), in the track's timescale.</summary>
    DecodeTime32,

    /// <summary><c>tfdt</c> version 1 baseMediaDecodeTime (8 bytes), in the track's timescale.</summary>
    DecodeTime64,

    /// <summary>Matroska: a (Simple)Block's track number, when it is a one-byte vint (1 byte: tracks 1 to 126).</summary>
    BlockTrackNumber,
}

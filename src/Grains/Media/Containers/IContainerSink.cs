namespace LiveStream.Media.Containers;

/// <summary>
/// Receives what a <see cref="ContainerReader"/> finds, as soon as it finds it. Offsets are absolute positions in the
/// stream fed to <see cref="ContainerReader.Push"/>, so the receiver can cut the bytes it already holds.
/// </summary>
public interface IContainerSink
{
    /// <summary>
    /// A recording starts at this absolute offset (EBML header or <c>ftyp</c>). The first call is the stream's first
    /// recording; a later one is a recorder restart.
    /// </summary>
    void OnRecordingStart(long offset, ContainerKind kind);

    /// <summary>
    /// The init segment of the current recording is bytes [<paramref name="start"/>, <paramref name="end"/>): the EBML
    /// header and the Segment's elements up to and including Tracks, or <c>ftyp</c> + <c>moov</c>. Tracks in file order.
    /// </summary>
    void OnInitSegment(long start, long end, IReadOnlyList<TrackInfo> tracks);

    /// <summary>
    /// A Cluster (Matroska) or <c>moof</c> (MP4) starts at this absolute offset. <paramref name="startsWithKeyframe"/>:
    /// its first video frame is a keyframe (true for every fragment of an audio-only stream).
    /// <paramref name="timestampMs"/>: the fragment's start time in milliseconds.
    /// </summary>
    /// <remarks>
    /// In Matroska this is only known once the Cluster's first video block is read, so it is reported then (or when the
    /// Cluster ends, if it held no video); audio frames that precede that block are reported before it.
    /// </remarks>
    void OnFragment(long offset, bool startsWithKeyframe, long timestampMs);

    /// <summary>
    /// Matroska only: the Cluster's Timestamp element payload is bytes
    /// [<paramref name="payloadOffset"/>, <paramref name="payloadOffset"/> + <paramref name="payloadLength"/>) and holds
    /// <paramref name="value"/> (in TimestampScale units; milliseconds for MediaRecorder).
    /// </summary>
    void OnClusterTimestamp(long payloadOffset, int payloadLength, long value);

    /// <summary>
    /// A field that continuing one recording after another in the same decoder would rewrite, at absolute offset
    /// <paramref name="offset"/>: in MP4 a <c>moof</c>'s sequence number, track IDs and decode times (big-endian, 4 bytes,
    /// or 8 for <see cref="FragmentField.DecodeTime64"/>), in Matroska a block's one-byte track number.
    /// <paramref name="track"/> is the track the field belongs to (0 for the sequence number).
    /// </summary>
    void OnFragmentField(long offset, FragmentField field, long track, long value);

    /// <summary>One frame (SimpleBlock, Block or MP4 sample): track number, absolute timestamp in ms, keyframe flag.</summary>
    void OnFrame(long track, long timestampMs, bool keyframe);
}

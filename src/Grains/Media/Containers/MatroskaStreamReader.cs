using System.Buffers.Binary;

namespace LiveStream.Media.Containers;

/// <summary>
/// Walks a Matroska/WebM stream as its bytes arrive: element headers are gathered in the pending buffer, the small
/// elements it needs are buffered whole, and block payloads are skipped without being copied.
/// </summary>
/// <remarks>
/// Only four levels are ever open at once while streaming (top, Segment, Cluster, BlockGroup), so they are fields
/// rather than a stack. Everything deeper (EBML header, Info, Tracks) is parsed from a buffered copy.
/// </remarks>
internal sealed class MatroskaStreamReader(ReaderState state)
{
    private const long NotOpen = -1;
    private const long UnknownEnd = long.MaxValue;
    private const long DefaultTimestampScale = 1_000_000;

    // A Cluster Timestamp is an unsigned integer of at most 8 bytes.
    private const int MaxTimestampLength = 8;

    // Track number vint + int16 relative timestamp + flags.
    private const int BlockFixedLength = 3;

    private const byte KeyframeFlag = 0x80;

    private ReadPhase _phase;
    private long _skipRemaining;
    private int _collectLength;
    private uint _collectId;
    private long _collectStart;
    private long _blockLength;
    private bool _blockIsSimple;
    private bool _foreignStart;
    private long _headerStart;

    private long _segmentEnd = NotOpen;
    private long _clusterEnd = NotOpen;
    private long _groupEnd = NotOpen;

    private long _ebmlHeaderStart;
    private bool _headerSeen;
    private bool _segmentSeen;
    private bool _initComplete;
    private bool _hasVideo;
    private long _timestampScale = DefaultTimestampScale;

    private long _clusterStart;
    private long _clusterTimestamp;
    private bool _fragmentPending;

    private bool _groupHasBlock;
    private bool _groupReferenced;
    private long _groupTrack;
    private long _groupTimestampMs;

    /// <summary>Forgets the current recording; a header may already be pending (a switch from MP4).</summary>
    /// <summary>True between two elements: no header half read, no payload in progress.</summary>
    public bool AtBoundary(PendingBuffer pending) => _phase == ReadPhase.Header && pending.Length == 0;

    public void Reset()
    {
        _phase = ReadPhase.Header;
        _segmentEnd = _clusterEnd = _groupEnd = NotOpen;
        _headerSeen = _segmentSeen = _initComplete = _hasVideo = _fragmentPending = _foreignStart = false;
    }

    /// <summary>Consumes <paramref name="input"/> until it is empty.</summary>
    /// <returns>True when an MP4 <c>ftyp</c> header is pending and the MP4 reader must take over.</returns>
    public bool Read(ref ReadOnlySpan<byte> input)
    {
        while (true)
        {
            switch (_phase)
            {
                case ReadPhase.Header:
                    if (state.Pending.Length == 0)
                    {
                        state.LastBoundary = state.Position;
                    }

                    if (!TryReadHeader(ref input, out var id, out var size, out var unknown))
                    {
                        var foreign = _foreignStart;
                        _foreignStart = false;
                        return foreign;
                    }

                    OnElement(id, size, unknown);
                    break;

                case ReadPhase.Skip:
                    if (!state.Skip(ref input, ref _skipRemaining))
                    {
                        return false;
                    }

                    FinishElement();
                    break;

                case ReadPhase.Collect:
                    if (!state.Fill(ref input, _collectLength))
                    {
                        return false;
                    }

                    OnCollected(state.Pending.Span);
                    state.Pending.Clear();
                    FinishElement();
                    break;

                case ReadPhase.BlockHeader:
                    if (!TryReadBlockHeader(ref input))
                    {
                        return false;
                    }

                    break;

                default:
                    throw new InvalidOperationException($"unexpected phase {_phase}");
            }
        }
    }

    private bool TryReadHeader(ref ReadOnlySpan<byte> input, out uint id, out long size, out bool unknown)
    {
        id = 0;
        size = 0;
        unknown = false;
        var pending = state.Pending;
        if (!state.Fill(ref input, 1))
        {
            return false;
        }

        var idLength = Ebml.VintLength(pending[0]);
        if (idLength == 0)
        {
            // A zero byte starts no EBML ID, but it does start an MP4 box header: a restart with an MP4 recorder.
            if (!state.Fill(ref input, 8))
            {
                return false;
            }

            if (BinaryPrimitives.ReadUInt32BigEndian(pending.Span[4..]) == Mp4Types.Ftyp && CanRestartHere())
            {
                EndSegment();
                _foreignStart = true;
                return false;
            }

            throw new MediaFormatException("invalid element ID");
        }

        if (idLength > 4)
        {
            throw new MediaFormatException("invalid element ID");
        }

        if (!state.Fill(ref input, idLength))
        {
            return false;
        }

        id = Ebml.ReadId(pending.Span[..idLength]);
        if (!state.HasRecording && id != MatroskaIds.EbmlHeader)
        {
            // Checked before the size arrives, so text or an image is refused on its first four bytes.
            throw new MediaFormatException(ReaderState.NotMedia);
        }

        if (!state.Fill(ref input, idLength + 1))
        {
            return false;
        }

        var sizeLength = Ebml.VintLength(pending[idLength]);
        if (sizeLength == 0)
        {
            throw new MediaFormatException($"invalid size of element 0x{id:X}");
        }

        if (!state.Fill(ref input, idLength + sizeLength))
        {
            return false;
        }

        size = Ebml.ReadSize(pending.Span.Slice(idLength, sizeLength), out unknown);
        _headerStart = state.Position - pending.Length;
        pending.Clear();
        return true;
    }

    private bool CanRestartHere() =>
        _groupEnd == NotOpen && (_clusterEnd is NotOpen or UnknownEnd) && (_segmentEnd is NotOpen or UnknownEnd);

    private void OnElement(uint id, long size, bool unknown)
    {
        if (_groupEnd != NotOpen)
        {
            OnGroupChild(id, size, unknown);
        }
        else if (_clusterEnd != NotOpen)
        {
            OnClusterChild(id, size, unknown);
        }
        else if (_segmentEnd != NotOpen)
        {
            OnSegmentChild(id, size, unknown);
        }
        else
        {
            OnTopLevel(id, size, unknown);
        }
    }

    private void OnTopLevel(uint id, long size, bool unknown)
    {
        switch (id)
        {
            case MatroskaIds.EbmlHeader:
                _ebmlHeaderStart = _headerStart;
                Collect(id, KnownSize(id, size, unknown, state.Limits.MaxHeaderBytes));
                break;
            case MatroskaIds.Segment when _headerSeen && !_segmentSeen:
                _segmentSeen = true;
                _segmentEnd = unknown ? UnknownEnd : state.Position + size;
                FinishElement();
                break;
            case MatroskaIds.Segment:
                throw new MediaFormatException("Segment without EBML header");
            case MatroskaIds.Void or MatroskaIds.Crc32:
                Skip(KnownSize(id, size, unknown, state.Limits.MaxElementBytes));
                break;
            default:
                throw new MediaFormatException($"unexpected element 0x{id:X} at top level");
        }
    }

    private void OnSegmentChild(uint id, long size, bool unknown)
    {
        switch (id)
        {
            case MatroskaIds.EbmlHeader:
                // A new EBML header inside the Segment: the recorder restarted and the old Segment simply stops.
                EndSegment();
                OnTopLevel(id, size, unknown);
                break;
            case MatroskaIds.Cluster when !_initComplete:
                throw new MediaFormatException("Cluster before Tracks");
            case MatroskaIds.Cluster:
                _clusterEnd = unknown ? UnknownEnd : state.Position + KnownSize(id, size, unknown, state.Limits.MaxElementBytes);
                _clusterStart = _headerStart;
                _clusterTimestamp = 0;
                _fragmentPending = true;
                FinishElement();
                break;
            case MatroskaIds.Info:
                Collect(id, CheckInit(KnownSize(id, size, unknown, state.Limits.MaxHeaderBytes)));
                break;
            case MatroskaIds.Tracks when !_initComplete:
                Collect(id, CheckInit(KnownSize(id, size, unknown, state.Limits.MaxHeaderBytes)));
                break;
            case MatroskaIds.Tracks or MatroskaIds.SeekHead or MatroskaIds.Void or MatroskaIds.Crc32 or MatroskaIds.Cues
                or MatroskaIds.Chapters or MatroskaIds.Tags or MatroskaIds.Attachments:
                Skip(CheckInit(KnownSize(id, size, unknown, state.Limits.MaxElementBytes)));
                break;
            default:
                throw new MediaFormatException($"unexpected element 0x{id:X} in Segment");
        }
    }

    private void OnClusterChild(uint id, long size, bool unknown)
    {
        switch (id)
        {
            case MatroskaIds.Timestamp:
                Collect(id, KnownSize(id, size, unknown, MaxTimestampLength));
                break;
            case MatroskaIds.SimpleBlock:
                StartBlock(id, size, unknown, simple: true);
                break;
            case MatroskaIds.BlockGroup:
                _groupEnd = state.Position + KnownSize(id, size, unknown, state.Limits.MaxElementBytes);
                _groupHasBlock = false;
                _groupReferenced = false;
                FinishElement();
                break;
            case MatroskaIds.Position or MatroskaIds.PrevSize or MatroskaIds.SilentTracks or MatroskaIds.EncryptedBlock
                or MatroskaIds.Void or MatroskaIds.Crc32:
                Skip(KnownSize(id, size, unknown, state.Limits.MaxElementBytes));
                break;
            case var _ when _clusterEnd == UnknownEnd && MatroskaIds.EndsCluster(id):
                // MediaRecorder writes unknown-size Clusters: one ends where the next Segment-level element begins.
                EndCluster();
                OnSegmentChild(id, size, unknown);
                break;
            default:
                throw new MediaFormatException($"unexpected element 0x{id:X} in Cluster");
        }
    }

    private void OnGroupChild(uint id, long size, bool unknown)
    {
        switch (id)
        {
            case MatroskaIds.Block when !_groupHasBlock:
                StartBlock(id, size, unknown, simple: false);
                break;
            case MatroskaIds.Block:
                throw new MediaFormatException("BlockGroup with two Blocks");
            case MatroskaIds.ReferenceBlock:
                _groupReferenced = true;
                Skip(KnownSize(id, size, unknown, 8));
                break;
            case MatroskaIds.BlockDuration or MatroskaIds.ReferencePriority or MatroskaIds.ReferenceVirtual or MatroskaIds.CodecState
                or MatroskaIds.BlockAdditions or MatroskaIds.DiscardPadding or MatroskaIds.Slices or MatroskaIds.BlockVirtual
                or MatroskaIds.Void or MatroskaIds.Crc32:
                Skip(KnownSize(id, size, unknown, state.Limits.MaxElementBytes));
                break;
            default:
                throw new MediaFormatException($"unexpected element 0x{id:X} in BlockGroup");
        }
    }

    private void StartBlock(uint id, long size, bool unknown, bool simple)
    {
        _blockLength = KnownSize(id, size, unknown, state.Limits.MaxElementBytes);
        if (_blockLength < BlockFixedLength + 1)
        {
            throw new MediaFormatException("block too short");
        }

        _blockIsSimple = simple;
        _phase = ReadPhase.BlockHeader;
    }

    private bool TryReadBlockHeader(ref ReadOnlySpan<byte> input)
    {
        if (!state.Fill(ref input, 1))
        {
            return false;
        }

        var trackLength = Ebml.VintLength(state.Pending[0]);
        if (trackLength == 0)
        {
            throw new MediaFormatException("invalid block track number");
        }

        var headerLength = trackLength + BlockFixedLength;
        if (headerLength > _blockLength)
        {
            throw new MediaFormatException("block too short");
        }

        if (!state.Fill(ref input, headerLength))
        {
            return false;
        }

        var header = state.Pending.Span;
        var track = Ebml.ReadSize(header[..trackLength], out _);
        if (trackLength == 1)
        {
            state.Sink.OnFragmentField(state.Position - headerLength, FragmentField.BlockTrackNumber, track, track);
        }

        var relative = BinaryPrimitives.ReadInt16BigEndian(header[trackLength..]);
        var flags = header[trackLength + 2];
        state.Pending.Clear();

        var timestampMs = ToMilliseconds(_clusterTimestamp + relative);
        if (_blockIsSimple)
        {
            OnBlock(track, timestampMs, (flags & KeyframeFlag) != 0);
        }
        else
        {
            // A Block's keyframe status depends on a ReferenceBlock that may follow it: report it when the group ends.
            _groupHasBlock = true;
            _groupTrack = track;
            _groupTimestampMs = timestampMs;
        }

        Skip(_blockLength - headerLength);
        return true;
    }

    private void OnBlock(long track, long timestampMs, bool keyframe)
    {
        var kind = KindOf(track);

        // Whether the Cluster starts with a keyframe is only known at its first video block.
        if (_fragmentPending && (kind == TrackKind.Video || !_hasVideo))
        {
            _fragmentPending = false;
            state.Sink.OnFragment(_clusterStart, !_hasVideo || keyframe, ToMilliseconds(_clusterTimestamp));
        }

        state.Sink.OnFrame(track, timestampMs, keyframe);
    }

    private TrackKind KindOf(long track)
    {
        // A loop over at most MaxTracks entries: no dictionary, nothing allocated per block.
        var tracks = state.Tracks;
        for (var i = 0; i < tracks.Count; i++)
        {
            if (tracks[i].Number == track)
            {
                return tracks[i].Kind;
            }
        }

        throw new MediaFormatException($"block for unknown track {track}");
    }

    private void OnCollected(ReadOnlySpan<byte> payload)
    {
        switch (_collectId)
        {
            case MatroskaIds.EbmlHeader:
                MatroskaHeaderParser.CheckEbmlHeader(payload);
                _headerSeen = true;
                _segmentSeen = false;
                _initComplete = false;
                _hasVideo = false;
                _timestampScale = DefaultTimestampScale;
                state.StartRecording(_ebmlHeaderStart, ContainerKind.Matroska);
                break;
            case MatroskaIds.Info:
                _timestampScale = MatroskaHeaderParser.ReadTimestampScale(payload);
                break;
            case MatroskaIds.Tracks:
                var tracks = MatroskaHeaderParser.ReadTracks(payload, state.Limits);
                _hasVideo = Array.Exists(tracks, t => t.Kind == TrackKind.Video);
                _initComplete = true;
                state.CompleteInit(state.Position, tracks);
                break;
            case MatroskaIds.Timestamp:
                _clusterTimestamp = (long)Ebml.ReadUnsigned(payload);
                state.Sink.OnClusterTimestamp(_collectStart, _collectLength, _clusterTimestamp);
                break;
            default:
                throw new InvalidOperationException($"element 0x{_collectId:X} is not collected");
        }
    }

    private void Collect(uint id, long length)
    {
        _collectId = id;
        _collectLength = (int)length;
        _collectStart = state.Position;
        _phase = ReadPhase.Collect;
    }

    private void Skip(long length)
    {
        _skipRemaining = length;
        _phase = ReadPhase.Skip;
    }

    /// <summary>Back to reading headers, closing every known-size master that ends here.</summary>
    private void FinishElement()
    {
        _phase = ReadPhase.Header;
        var position = state.Position;
        if (_groupEnd != NotOpen && position >= _groupEnd)
        {
            EndGroup();
        }

        if (_clusterEnd != NotOpen && position >= _clusterEnd)
        {
            EndCluster();
        }

        if (_segmentEnd != NotOpen && position >= _segmentEnd)
        {
            EndSegment();
        }
    }

    private void EndGroup()
    {
        _groupEnd = NotOpen;
        if (_groupHasBlock)
        {
            OnBlock(_groupTrack, _groupTimestampMs, !_groupReferenced);
        }
    }

    private void EndCluster()
    {
        if (_groupEnd != NotOpen)
        {
            EndGroup();
        }

        _clusterEnd = NotOpen;
        if (_fragmentPending)
        {
            // No video block in this Cluster, so no keyframe to join at (unless the stream has no video at all).
            _fragmentPending = false;
            state.Sink.OnFragment(_clusterStart, !_hasVideo, ToMilliseconds(_clusterTimestamp));
        }
    }

    private void EndSegment()
    {
        if (_clusterEnd != NotOpen)
        {
            EndCluster();
        }

        _segmentEnd = NotOpen;
    }

    /// <summary>The size of an element that must have one, checked against the limit and against its parent's end.</summary>
    private long KnownSize(uint id, long size, bool unknown, long max)
    {
        if (unknown)
        {
            throw new MediaFormatException($"element 0x{id:X} has an unknown size");
        }

        if (size > max)
        {
            throw new MediaFormatException($"element 0x{id:X} is too large");
        }

        // The nearest known end: an unknown-size Cluster inside a known-size Segment is still bounded by the Segment.
        if (state.Position + size > Math.Min(KnownEnd(_groupEnd), Math.Min(KnownEnd(_clusterEnd), KnownEnd(_segmentEnd))))
        {
            throw new MediaFormatException($"element 0x{id:X} overruns its parent");
        }

        return size;
    }

    private static long KnownEnd(long end) => end == NotOpen ? UnknownEnd : end;

    /// <summary>Refuses an init segment (EBML header to Tracks) larger than the limit, before buffering any of it.</summary>
    private long CheckInit(long size)
    {
        if (!_initComplete && state.Position + size - state.RecordingStart > state.Limits.MaxHeaderBytes)
        {
            throw new MediaFormatException("init segment too large");
        }

        return size;
    }

    private long ToMilliseconds(long ticks) =>
        _timestampScale == DefaultTimestampScale ? ticks : (long)((Int128)ticks * _timestampScale / 1_000_000);
}

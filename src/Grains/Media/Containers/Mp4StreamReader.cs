using System.Buffers.Binary;

namespace LiveStream.Media.Containers;

/// <summary>
/// Walks a fragmented MP4 stream as its bytes arrive: top-level box headers are gathered in the pending buffer,
/// <c>ftyp</c>, <c>moov</c> and <c>moof</c> are buffered whole and parsed, <c>mdat</c> is skipped without being copied.
/// </summary>
internal sealed class Mp4StreamReader(ReaderState state)
{
    private const int BoxHeaderLength = 8;
    private const int LargeBoxHeaderLength = 16;

    // major_brand + minor_version.
    private const int MinFtypLength = 8;

    private ReadPhase _phase;
    private long _skipRemaining;
    private int _collectLength;
    private uint _collectType;
    private long _collectStart;

    private bool _ftypSeen;
    private bool _initComplete;
    private bool _hasVideo;
    private Mp4Track[] _tracks = [];

    // A moof and the mdat after it are one unit: its samples point into that mdat, so a decoder handed the moof must
    // get the whole mdat too. The boundary after the moof is therefore not a place a recording may be cut.
    private bool _fragmentOpen;

    /// <summary>True between two units: no header half read, no payload in progress, no moof waiting for its mdat.</summary>
    public bool AtBoundary(PendingBuffer pending) => _phase == ReadPhase.Header && pending.Length == 0 && !_fragmentOpen;

    /// <summary>Forgets the current recording; a header may already be pending (a switch from Matroska).</summary>
    public void Reset()
    {
        _phase = ReadPhase.Header;
        _ftypSeen = _initComplete = _hasVideo = _fragmentOpen = false;
        _tracks = [];
    }

    /// <summary>Consumes <paramref name="input"/> until it is empty.</summary>
    /// <returns>True when an EBML header ID is pending and the Matroska reader must take over.</returns>
    public bool Read(ref ReadOnlySpan<byte> input)
    {
        while (true)
        {
            switch (_phase)
            {
                case ReadPhase.Header:
                    if (state.Pending.Length == 0 && !_fragmentOpen)
                    {
                        state.LastBoundary = state.Position;
                    }

                    if (!TryReadHeader(ref input, out var type, out var bodyLength, out var start, out var foreign))
                    {
                        return foreign;
                    }

                    OnBox(type, bodyLength, start);
                    break;

                case ReadPhase.Skip:
                    if (!state.Skip(ref input, ref _skipRemaining))
                    {
                        return false;
                    }

                    _phase = ReadPhase.Header;
                    _fragmentOpen = false;
                    break;

                case ReadPhase.Collect:
                    if (!state.Fill(ref input, _collectLength))
                    {
                        return false;
                    }

                    OnCollected(state.Pending.Span);
                    state.Pending.Clear();
                    _phase = ReadPhase.Header;
                    break;

                default:
                    throw new InvalidOperationException($"unexpected phase {_phase}");
            }
        }
    }

    private bool TryReadHeader(ref ReadOnlySpan<byte> input, out uint type, out long bodyLength, out long start, out bool foreign)
    {
        type = 0;
        bodyLength = 0;
        start = 0;
        foreign = false;
        var pending = state.Pending;

        // Four bytes first: an EBML header ID there is a restart with a Matroska recorder, and the Matroska reader
        // expects exactly those bytes pending.
        if (!state.Fill(ref input, 4))
        {
            return false;
        }

        var size = (long)BinaryPrimitives.ReadUInt32BigEndian(pending.Span);
        if (size == MatroskaIds.EbmlHeader && state.HasRecording)
        {
            foreign = true;
            return false;
        }

        if (!state.Fill(ref input, BoxHeaderLength))
        {
            return false;
        }

        type = BinaryPrimitives.ReadUInt32BigEndian(pending.Span[4..]);
        if (!state.HasRecording && type != Mp4Types.Ftyp)
        {
            throw new MediaFormatException(ReaderState.NotMedia);
        }

        var headerLength = BoxHeaderLength;
        if (size == 1)
        {
            if (!state.Fill(ref input, LargeBoxHeaderLength))
            {
                return false;
            }

            var large = BinaryPrimitives.ReadUInt64BigEndian(pending.Span[8..]);
            size = large > long.MaxValue ? long.MaxValue : (long)large;
            headerLength = LargeBoxHeaderLength;
        }
        else if (size == 0)
        {
            // "Until the end of the file" has no end in a live stream, and would hide every later fragment.
            throw new MediaFormatException($"box '{Mp4Types.Format(type)}' has no size");
        }

        if (size < headerLength)
        {
            throw new MediaFormatException($"box '{Mp4Types.Format(type)}' has an invalid size");
        }

        start = state.Position - headerLength;
        bodyLength = size - headerLength;
        pending.Clear();
        return true;
    }

    private void OnBox(uint type, long bodyLength, long start)
    {
        var limits = state.Limits;
        switch (type)
        {
            case Mp4Types.Ftyp:
                var ftypLength = Limit(type, bodyLength, limits.MaxHeaderBytes);
                if (ftypLength < MinFtypLength)
                {
                    throw new MediaFormatException("ftyp too short");
                }

                Collect(type, ftypLength, start);
                break;
            case Mp4Types.Moov when !_ftypSeen:
                throw new MediaFormatException("moov before ftyp");
            case Mp4Types.Moov when _initComplete:
                throw new MediaFormatException("second moov in a recording");
            case Mp4Types.Moov:
                Collect(type, CheckInit(Limit(type, bodyLength, limits.MaxHeaderBytes)), start);
                break;
            case Mp4Types.Moof or Mp4Types.Mdat when !_initComplete:
                throw new MediaFormatException($"{Mp4Types.Format(type)} before moov");
            case Mp4Types.Moof:
                Collect(type, Limit(type, bodyLength, limits.MaxHeaderBytes), start);
                break;
            case Mp4Types.Mdat or Mp4Types.Free or Mp4Types.Skip or Mp4Types.Styp or Mp4Types.Sidx or Mp4Types.Emsg
                or Mp4Types.Prft or Mp4Types.Uuid or Mp4Types.Mfra or Mp4Types.Meta or Mp4Types.Udta or Mp4Types.Pdin
                or Mp4Types.Ssix:
                Skip(CheckInit(Limit(type, bodyLength, limits.MaxElementBytes)));
                break;
            default:
                throw new MediaFormatException($"unexpected box '{Mp4Types.Format(type)}'");
        }
    }

    private void OnCollected(ReadOnlySpan<byte> body)
    {
        switch (_collectType)
        {
            case Mp4Types.Ftyp:
                // A second ftyp is a recorder restart: everything known about the old recording goes.
                _ftypSeen = true;
                _initComplete = false;
                _hasVideo = false;
                _tracks = [];
                state.StartRecording(_collectStart, ContainerKind.Mp4);
                break;
            case Mp4Types.Moov:
                Mp4MovieParser.Parse(body, state.Limits, out var infos, out var tracks);
                _tracks = tracks;
                _hasVideo = Array.Exists(tracks, t => t.Kind == TrackKind.Video);
                _initComplete = true;
                state.CompleteInit(state.Position, infos);
                break;
            case Mp4Types.Moof:
                Mp4FragmentParser.Read(body, _collectStart, state.Position - body.Length, _tracks, _hasVideo, state.Sink);
                _fragmentOpen = true;
                break;
            default:
                throw new InvalidOperationException($"box '{Mp4Types.Format(_collectType)}' is not collected");
        }
    }

    private void Collect(uint type, long length, long start)
    {
        _collectType = type;
        _collectLength = (int)length;
        _collectStart = start;
        _phase = ReadPhase.Collect;
    }

    private void Skip(long length)
    {
        _skipRemaining = length;
        _phase = ReadPhase.Skip;
    }

    private static long Limit(uint type, long bodyLength, long max) =>
        bodyLength <= max ? bodyLength : throw new MediaFormatException($"box '{Mp4Types.Format(type)}' is too large");

    /// <summary>Refuses an init segment (ftyp to the end of moov) larger than the limit, before buffering any of it.</summary>
    private long CheckInit(long bodyLength)
    {
        if (!_initComplete && state.Position + bodyLength - state.RecordingStart > state.Limits.MaxHeaderBytes)
        {
            throw new MediaFormatException("init segment too large");
        }

        return bodyLength;
    }
}

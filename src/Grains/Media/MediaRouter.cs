using System.Buffers;
using System.Buffers.Binary;
using LiveStream.Media.Containers;

namespace LiveStream.Media;

/// <summary>
/// Decides which bytes reach the current FFmpeg, reading the session's byte stream as it is committed. It
/// <list type="bullet">
/// <item>holds the bytes until the init segment is complete, so FFmpeg starts with arguments that suit the tracks
/// (H.264 passed through, other video re-encoded);</item>
/// <item>after FFmpeg is restarted, feeds it the init segment and then the stream from the next fragment that
/// starts with a keyframe (a decoder cannot start anywhere else);</item>
/// <item>splices a recorder restart (a new WebM header or MP4 <c>ftyp</c> inside the session) whose tracks decode like
/// the running FFmpeg's into that FFmpeg: the new header is dropped and the new recording's timestamps (Matroska
/// Cluster Timestamps; MP4 <c>tfdt</c>, with <c>tfhd</c> track IDs and <c>mfhd</c> sequence numbers) are rewritten to
/// continue after the last frame written, so FFmpeg sees one continuous recording;</item>
/// <item>starts a new FFmpeg for a recorder restart it cannot splice (other codecs or codec data, another container);</item>
/// <item>hands FFmpeg whole elements only: the bytes after the last complete element wait for the rest of it, so a
/// recording cut mid-element (a closed tab, a reload) can always be dropped cleanly and the next one spliced. That
/// holds back only bytes FFmpeg could not use yet (a frame still arriving), at most <see cref="MaxSkipHoldBytes"/>.</item>
/// </list>
/// Held bytes are bounded: a header larger than the reader's limit is bad media, and while waiting for a keyframe
/// only the most recent <see cref="MaxSkipHoldBytes"/> are kept.
/// </summary>
internal sealed class MediaRouter : IContainerSink, IDisposable
{
    /// <summary>Most bytes kept while waiting for a keyframe fragment after a restart.</summary>
    public const int MaxSkipHoldBytes = 4 * 1024 * 1024;

    private const long DefaultFrameMs = 20;

    private readonly ContainerReader _reader;
    private readonly IMediaFeed _feed;
    private readonly ContainerLimits _limits;
    private readonly KeyframeClock _keyframes = new();
    private readonly SpliceRewriter _splice = new();
    private byte[] _held = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private long _heldStart;
    private int _heldLength;
    private Mode _mode = Mode.AwaitingInit;
    private long _position;
    private int _recordings;

    // Timeline: frames of the current recording are shifted by _shift ms to continue after the previous one.
    private long _shift;
    private bool _shiftPending;
    private long _lastOutTs = -1;
    private long _lastVideoTs = -1;
    private long _frameMs = DefaultFrameMs;
    private long _now;
    private long _previousCommitAt;
    private long _gapMs;

    // What the running FFmpeg was started with: a new recording is spliced only into tracks it decodes like.
    private ContainerKind _fedKind;
    private IReadOnlyList<TrackInfo> _fedTracks = [];

    // Splice: the current recording is rewritten to continue the fed one; only an MP4 one moves on its fragments.
    private bool _mp4Splice;

    // Decisions taken while the reader walks a chunk, applied to the chunk's bytes afterwards.
    private (long Start, long End, IReadOnlyList<TrackInfo> Tracks, bool Splice)? _initReady;
    private long _resumeAt = -1;
    private long _recordingAt = -1;
    private bool _connectionBoundary;
    private readonly byte[] _boundaryPrefix = new byte[8];
    private int _boundaryPrefixLength;
    private bool _cutRecording;

    // Failover: the stream is picked up mid-fragment with the stored init segment. The reader re-reads the init,
    // then the stream from the next fragment start found by scanning; its offsets are then shifted by _readerBase.
    private long _readerBase;
    private bool _resyncing;
    private bool _scanning;
    private bool _startOnKeyframe;

    public MediaRouter(IMediaFeed feed, ContainerLimits? limits = null)
    {
        _feed = feed;
        _limits = limits ?? new ContainerLimits();
        _reader = new ContainerReader(this, _limits);
    }

    private enum Mode
    {
        AwaitingInit,
        Feeding,
        AwaitingKeyframe,
        Splicing,
    }

    /// <summary>The current recording's init segment (empty until known).</summary>
    public byte[] InitSegment { get; private set; } = [];

    /// <summary>The current recording's tracks (empty until known).</summary>
    public IReadOnlyList<TrackInfo> Tracks { get; private set; } = [];

    /// <summary>Recorder restarts spliced into the running FFmpeg.</summary>
    public int Splices { get; private set; }

    /// <summary>The longest gap between video keyframes seen recently, in ms (null before two keyframes).</summary>
    public long? KeyframeIntervalMs => _keyframes.MaxIntervalMs;

    /// <summary>
    /// Reads and routes the next committed bytes, which arrived at <paramref name="nowMs"/> (wall clock, ms).
    /// Throws <see cref="MediaFormatException"/> for bad media.
    /// </summary>
    public void Commit(ReadOnlySpan<byte> data, long nowMs)
    {
        _now = nowMs;
        if (_scanning)
        {
            var at = FindFragmentStart(data);
            if (at < 0)
            {
                // Nothing a decoder could start from yet: these bytes are committed (archive) but not fed.
                _position += data.Length;
                return;
            }

            _scanning = false;
            _readerBase = _position + at - _reader.Position;
            _position += at;
            data = data[at..];
        }

        if (_connectionBoundary && !data.IsEmpty)
        {
            if (_reader.AtBoundary)
            {
                _connectionBoundary = false;
            }
            else
            {
                // A new connection's first bytes, while an element is cut: they either start a new recording or go
                // on with the cut element. Decide on a whole header prefix only (a recorder's first chunk can be a
                // single byte), keeping up to 8 bytes aside meanwhile.
                var prefixStart = _position - _boundaryPrefixLength;
                var take = Math.Min(data.Length, _boundaryPrefix.Length - _boundaryPrefixLength);
                data[..take].CopyTo(_boundaryPrefix.AsSpan(_boundaryPrefixLength));
                var prefix = _boundaryPrefix.AsSpan(0, _boundaryPrefixLength + take);
                if (prefix.Length < _boundaryPrefix.Length && data.Length == take && MayStartRecording(prefix))
                {
                    _boundaryPrefixLength = prefix.Length;
                    _position += data.Length;
                    return;
                }

                _connectionBoundary = false;
                _boundaryPrefixLength = 0;
                if (StartsRecording(prefix))
                {
                    // A publisher that dropped mid-element restarted its recorder: the cut element is abandoned. Its
                    // bytes are still held back (FFmpeg gets whole elements only) and are dropped; only if FFmpeg
                    // already has part of it (an element too large to hold) can the new recording not be spliced.
                    AbandonCutElement();
                    _reader.AbandonCurrentElement();
                }

                if (prefix.Length > take)
                {
                    // The bytes kept aside come first.
                    _position = prefixStart;
                    var whole = new byte[prefix.Length - take + data.Length];
                    prefix[..^take].CopyTo(whole);
                    data.CopyTo(whole.AsSpan(prefix.Length - take));
                    Commit(whole, nowMs);
                    return;
                }
            }
        }

        var chunkStart = _position;
        _reader.Push(data);
        _position += data.Length;
        _previousCommitAt = nowMs;

        if (_mode == Mode.Feeding && _recordingAt < 0)
        {
            FeedWholeElements(data, chunkStart);
            return;
        }

        Route(data, chunkStart);
    }

    /// <summary>Bytes held back so far: the tail of an element still arriving, or what waits for a header or keyframe.</summary>
    public int HeldBytes => _heldLength;

    /// <summary>Rewrites waiting for their bytes to be fed (bounded by what is held).</summary>
    internal int PendingPatches => _splice.Pending;

    /// <summary>
    /// Picks a session up on another silo (failover): <paramref name="initSegment"/> is the stored init segment and
    /// <paramref name="position"/> the committed offset where the stream goes on, most likely inside a fragment.
    /// FFmpeg is started at the next fragment that starts with a keyframe and fed the init segment first.
    /// </summary>
    public void Resume(byte[] initSegment, long position)
    {
        _resyncing = true;
        _reader.Push(initSegment);
        _resyncing = false;
        InitSegment = initSegment;
        Tracks = _reader.Tracks;
        _fedKind = _reader.Kind;
        _fedTracks = Tracks;
        _recordings = 1;
        _position = position;
        _scanning = true;
        _startOnKeyframe = true;
        _mode = Mode.AwaitingKeyframe;
        _heldLength = 0;
    }

    /// <summary>A new publisher connection starts at the current position (a reconnect or a takeover).</summary>
    public void NewConnection() => _connectionBoundary = _position > 0;

    /// <summary>Hands over whatever is still held back (the session is ending).</summary>
    public void Flush()
    {
        if (_boundaryPrefixLength > 0)
        {
            // A connection's first bytes, too few to tell what they start: they go on as they are.
            var prefix = _boundaryPrefix[.._boundaryPrefixLength];
            _position -= prefix.Length;
            _boundaryPrefixLength = 0;
            _connectionBoundary = false;
            Commit(prefix, _now);
        }

        if (_mode == Mode.Splicing)
        {
            FeedSpliced(flush: true);
        }
        else if (_mode == Mode.Feeding && _heldLength > 0)
        {
            _feed.Feed(_held.AsSpan(0, _heldLength));
            Drop(_heldLength);
        }
    }

    /// <summary>
    /// FFmpeg was restarted (it crashed, or the session moved): feed the new one the init segment, then the stream
    /// from the next fragment that starts with a keyframe.
    /// </summary>
    public void RestartFeed()
    {
        if (Tracks.Count == 0)
        {
            // Nothing was fed yet: the new process gets everything as the first one would have.
            return;
        }

        _feed.Feed(InitSegment);
        _mode = Mode.AwaitingKeyframe;
        _heldStart = _position;
        _heldLength = 0;

        // The new FFmpeg reads the current recording as it was recorded, from its own init segment.
        _splice.Stop();
        _shift = 0;
        _shiftPending = false;
        _mp4Splice = false;
        _fedKind = _reader.Kind;
        _fedTracks = Tracks;
    }

    public void OnRecordingStart(long offset, ContainerKind kind)
    {
        if (_resyncing)
        {
            return;
        }

        offset += _readerBase;
        _recordings++;
        if (offset > 0)
        {
            _recordingAt = offset;
            _gapMs = Math.Max(0, _now - _previousCommitAt);
        }
    }

    public void OnInitSegment(long start, long end, IReadOnlyList<TrackInfo> tracks)
    {
        if (_resyncing)
        {
            return;
        }

        start += _readerBase;
        end += _readerBase;
        var kind = _reader.Kind;
        var splice = _splice.TryBegin(_recordings > 1 && !_cutRecording, _fedKind, _fedTracks, kind, tracks);
        _cutRecording = false;
        _initReady = (start, end, tracks, splice);
        _mp4Splice = splice && kind == ContainerKind.Mp4;
        if (splice)
        {
            _shiftPending = true;
        }
        else
        {
            // A new FFmpeg starts its own timeline, from this recording's init segment.
            _shift = 0;
            _shiftPending = false;
            _lastOutTs = -1;
            _fedKind = kind;
            _fedTracks = tracks;
        }
    }

    public void OnFragment(long offset, bool startsWithKeyframe, long timestampMs)
    {
        offset += _readerBase;
        if (_shiftPending && _mp4Splice)
        {
            _shiftPending = false;
            _shift = ShiftToContinueFrom(timestampMs);
        }

        if (startsWithKeyframe && _resumeAt < 0 && _mode == Mode.AwaitingKeyframe && offset >= _heldStart)
        {
            _resumeAt = offset;
        }
    }

    public void OnClusterTimestamp(long payloadOffset, int payloadLength, long value)
    {
        payloadOffset += _readerBase;
        if (_shiftPending)
        {
            _shiftPending = false;
            _shift = ShiftToContinueFrom(value);
        }

        if (_shift != 0)
        {
            // The element is ID 0xE7 and a one-byte size before the payload (how MediaRecorder writes it).
            _splice.ClusterTimestamp(payloadOffset - 2, payloadLength + 2, value + _shift);
        }
    }

    public void OnFragmentField(long offset, FragmentField field, long track, long value)
    {
        if (_resyncing)
        {
            return;
        }

        _splice.Field(offset + _readerBase, field, track, value, _shift, TimescaleOf(track));
    }

    public void OnFrame(long track, long timestampMs, bool keyframe)
    {
        var outTs = timestampMs + _shift;
        _lastOutTs = Math.Max(_lastOutTs, outTs);
        if (!IsVideo(track))
        {
            return;
        }

        if (_lastVideoTs >= 0 && outTs > _lastVideoTs)
        {
            _frameMs = Math.Clamp(outTs - _lastVideoTs, 1, 1000);
        }

        _lastVideoTs = outTs;
        if (keyframe)
        {
            _keyframes.Add(outTs);
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_held);
        _held = [];
    }

    private void Route(ReadOnlySpan<byte> data, long chunkStart)
    {
        if (_recordingAt >= 0 && _mode is Mode.Feeding or Mode.Splicing or Mode.AwaitingKeyframe)
        {
            // A new recording inside the session: the current FFmpeg gets every byte before it; the rest waits for
            // the new init segment.
            var before = (int)Math.Clamp(_recordingAt - chunkStart, 0, data.Length);
            if (_mode == Mode.Splicing)
            {
                Hold(data[..before], chunkStart);
                FeedSpliced(flush: true);
            }
            else if (_mode == Mode.Feeding)
            {
                // Everything before a recording's start is whole elements of the previous one.
                Hold(data[..before], chunkStart);
                _feed.Feed(_held.AsSpan(0, _heldLength));
            }

            _mode = Mode.AwaitingInit;
            _heldLength = 0;
            _resumeAt = -1;
            Hold(data[before..], chunkStart + before);
        }
        else
        {
            Hold(data, chunkStart);
        }

        _recordingAt = -1;
        if (_mode == Mode.AwaitingInit && _initReady is { } init)
        {
            _initReady = null;
            var initAt = (int)(init.Start - _heldStart);
            InitSegment = _held.AsSpan(initAt, (int)(init.End - init.Start)).ToArray();
            var first = Tracks.Count == 0;
            Tracks = init.Tracks;
            if (init.Splice)
            {
                // Same tracks: the running FFmpeg goes on; the new header is dropped.
                Splices++;
                Drop((int)(init.End - _heldStart));
                _mode = Mode.Splicing;
            }
            else
            {
                _keyframes.Reset();
                _splice.Stop();
                _feed.Start(init.Tracks, restartOfRecording: !first);
                var whole = WholeUpTo(initAt);
                _feed.Feed(_held.AsSpan(initAt, whole - initAt));
                _mode = Mode.Feeding;
                Drop(whole);
                return;
            }
        }

        if (_mode == Mode.Splicing)
        {
            FeedSpliced(flush: false);
        }
        else if (_mode == Mode.AwaitingKeyframe && _resumeAt >= 0)
        {
            if (_startOnKeyframe)
            {
                _startOnKeyframe = false;
                _feed.Start(Tracks, restartOfRecording: false);
                _feed.Feed(InitSegment);
            }

            var at = (int)(_resumeAt - _heldStart);
            var whole = WholeUpTo(at);
            _feed.Feed(_held.AsSpan(at, whole - at));
            _resumeAt = -1;
            _mode = Mode.Feeding;
            Drop(whole);
        }
    }

    /// <summary>
    /// Feeds held bytes with the timestamps rewritten: whole elements only, unless flushing. An MP4 field is rewritten
    /// in place; a Cluster Timestamp is written as an 8-byte value (it may grow).
    /// </summary>
    private void FeedSpliced(bool flush) =>
        Drop(_splice.Apply(_held.AsSpan(0, _heldLength), _heldStart, flush ? _heldLength : WholeUpTo(0), _feed));

    /// <summary>
    /// Feeds what the reader has completed and holds the element still arriving. A tail that would hold more than
    /// <see cref="MaxSkipHoldBytes"/> (one enormous element) is fed as it comes: such a recording, if cut, is not spliced.
    /// </summary>
    private void FeedWholeElements(ReadOnlySpan<byte> data, long chunkStart)
    {
        var boundary = _reader.LastBoundary + _readerBase;
        if (_heldLength == 0 && boundary == chunkStart + data.Length)
        {
            _feed.Feed(data);
            return;
        }

        Hold(data, chunkStart);
        var whole = _heldLength > MaxSkipHoldBytes ? _heldLength : WholeUpTo(0);
        _feed.Feed(_held.AsSpan(0, whole));
        Drop(whole);
    }

    /// <summary>How many held bytes, counted from the start of the held buffer, end at or before the last whole element (at least <paramref name="from"/>).</summary>
    private int WholeUpTo(int from) => (int)Math.Clamp(_reader.LastBoundary + _readerBase - _heldStart, from, _heldLength);

    /// <summary>
    /// The publisher's recording was cut mid-element: the element's held bytes are dropped. When FFmpeg already has
    /// some of them, the next recording cannot be spliced into it.
    /// </summary>
    private void AbandonCutElement()
    {
        var boundary = _reader.LastBoundary + _readerBase;
        var heldFrom = _heldLength > 0 ? _heldStart : _position;
        _cutRecording = _mode is Mode.Feeding or Mode.Splicing && heldFrom > boundary;
        if (_heldLength > 0 && boundary >= _heldStart)
        {
            _heldLength = (int)Math.Min(_heldLength, boundary - _heldStart);
        }
    }

    private void Drop(int count)
    {
        _held.AsSpan(count, _heldLength - count).CopyTo(_held);
        _heldLength -= count;
        _heldStart += count;
    }

    private void Hold(ReadOnlySpan<byte> data, long offset)
    {
        if (_heldLength == 0)
        {
            _heldStart = offset;
        }

        var limit = _mode == Mode.AwaitingInit ? _limits.MaxHeaderBytes + MaxSkipHoldBytes : MaxSkipHoldBytes;
        if (_mode == Mode.AwaitingKeyframe && _heldLength + data.Length > limit)
        {
            // Waiting for a keyframe: the oldest held bytes can never be needed once a newer fragment started.
            if (data.Length >= limit)
            {
                _heldLength = 0;
                _heldStart = offset + data.Length - limit;
                data = data[^limit..];
            }
            else
            {
                Drop(_heldLength + data.Length - limit);
            }
        }
        else if (_mode == Mode.AwaitingInit && _heldLength + data.Length > limit)
        {
            throw new MediaFormatException("header too large");
        }

        if (_heldLength + data.Length > _held.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_held.Length * 2, _heldLength + data.Length));
            _held.AsSpan(0, _heldLength).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_held);
            _held = bigger;
        }

        data.CopyTo(_held.AsSpan(_heldLength));
        _heldLength += data.Length;
    }

    /// <summary>Where the next Cluster (Matroska) or <c>moof</c> (MP4) starts in <paramref name="data"/>, or -1.</summary>
    private int FindFragmentStart(ReadOnlySpan<byte> data)
    {
        if (_reader.Kind == ContainerKind.Mp4)
        {
            for (var i = data.IndexOf("moof"u8); i >= 0; i = NextIndex(data, "moof"u8, i + 1))
            {
                if (i >= 4)
                {
                    return i - 4;
                }
            }

            return -1;
        }

        return data.IndexOf((ReadOnlySpan<byte>)[0x1F, 0x43, 0xB6, 0x75]);
    }

    private static int NextIndex(ReadOnlySpan<byte> data, ReadOnlySpan<byte> value, int from)
    {
        var next = data[from..].IndexOf(value);
        return next < 0 ? -1 : from + next;
    }

    /// <summary>Whether <paramref name="prefix"/> (shorter than 8 bytes) may still turn out to be an EBML header or an <c>ftyp</c> box.</summary>
    private static bool MayStartRecording(ReadOnlySpan<byte> prefix) =>
        ((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3]).StartsWith(prefix[..Math.Min(prefix.Length, 4)])
        || (prefix[0] == 0 && (prefix.Length <= 4 || "ftyp"u8.StartsWith(prefix[4..])));

    /// <summary>An EBML header or an MP4 <c>ftyp</c> box.</summary>
    private static bool StartsRecording(ReadOnlySpan<byte> data) =>
        data.StartsWith((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3]) || (data.Length >= 8 && data[4..8].SequenceEqual("ftyp"u8));

    private uint TimescaleOf(long track)
    {
        foreach (var t in _reader.Tracks)
        {
            if (t.Number == track)
            {
                return t.Timescale;
            }
        }

        return 1000;
    }

    /// <summary>
    /// How far (ms) a new recording whose first fragment starts at <paramref name="firstMs"/> is moved: its first frame
    /// lands one frame after the last one written, but never further from it than the wall-clock gap between the two
    /// recordings' data (and always after it).
    /// </summary>
    private long ShiftToContinueFrom(long firstMs) => _lastOutTs + Math.Max(1, Math.Min(_frameMs, _gapMs)) - firstMs;

    private bool IsVideo(long track)
    {
        foreach (var t in Tracks)
        {
            if (t.Number == track)
            {
                return t.Kind == TrackKind.Video;
            }
        }

        return _reader.Tracks.Any(t => t.Number == track && t.Kind == TrackKind.Video);
    }
}

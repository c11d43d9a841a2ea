namespace LiveStream.Media.Containers;

/// <summary>
/// Reads a MediaRecorder stream (Matroska/WebM or fragmented MP4) as it arrives, in pieces of any size, and reports
/// recordings, init segments, fragments and frames to an <see cref="IContainerSink"/> with their absolute offsets.
/// </summary>
/// <remarks>
/// <para>
/// Only headers and the small elements it parses are ever held (at most <see cref="ContainerLimits.MaxHeaderBytes"/>);
/// frame payloads are skipped as they pass. Once a recording's init segment is read, pushing allocates nothing.
/// </para>
/// <para>
/// A new EBML header or <c>ftyp</c> after the first recording is a recorder restart: it gets its own
/// <see cref="IContainerSink.OnRecordingStart"/> and <see cref="IContainerSink.OnInitSegment"/>, and may even switch
/// between Matroska and MP4. Not thread-safe: one reader per stream, fed in order.
/// </para>
/// </remarks>
public sealed class ContainerReader
{
    private readonly ReaderState _state;
    private readonly MatroskaStreamReader _matroska;
    private readonly Mp4StreamReader _mp4;
    private ContainerKind _active;
    private string? _failure;

    /// <summary>Creates a reader that reports to <paramref name="sink"/>.</summary>
    public ContainerReader(IContainerSink sink, ContainerLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        limits ??= new ContainerLimits();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limits.MaxHeaderBytes, nameof(limits));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limits.MaxElementBytes, nameof(limits));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limits.MaxTracks, nameof(limits));
        _state = new ReaderState(sink, limits);
        _matroska = new MatroskaStreamReader(_state);
        _mp4 = new Mp4StreamReader(_state);
    }

    /// <summary>The container of the current recording; <see cref="ContainerKind.Unknown"/> before the first one starts.</summary>
    public ContainerKind Kind => _state.Kind;

    /// <summary>The tracks of the current recording, in file order; empty until its init segment is complete.</summary>
    public IReadOnlyList<TrackInfo> Tracks => _state.Tracks;

    /// <summary>Absolute number of bytes consumed so far.</summary>
    public long Position => _state.Position;

    /// <summary>
    /// Absolute position after the last complete element (or box) pushed so far: FFmpeg may be handed every byte
    /// before it without ever getting part of an element that a cut recording abandons.
    /// </summary>
    public long LastBoundary => _state.LastBoundary;

    /// <summary>True when the bytes pushed so far end exactly between two elements (or boxes).</summary>
    public bool AtBoundary => _active switch
    {
        ContainerKind.Matroska => _matroska.AtBoundary(_state.Pending),
        ContainerKind.Mp4 => _mp4.AtBoundary(_state.Pending),
        _ => _state.Pending.Length == 0,
    };

    /// <summary>
    /// The next bytes start a new recording, whatever element was in progress: a publisher that dropped in the middle
    /// of an element and restarted its recorder on reconnect. The cut element is abandoned.
    /// </summary>
    public void AbandonCurrentElement()
    {
        _matroska.Reset();
        _mp4.Reset();
        _state.Pending.Clear();
        _active = ContainerKind.Unknown;
    }

    /// <summary>
    /// Feeds the next bytes of the stream, in order, in pieces of any size: MediaRecorder cuts Clusters and even element
    /// headers at arbitrary points.
    /// </summary>
    /// <exception cref="MediaFormatException">The bytes are not media this reader accepts; every later push throws too.</exception>
    public void Push(ReadOnlySpan<byte> chunk)
    {
        // After a refusal the reader's position inside the stream is meaningless, so it refuses everything after.
        if (_failure is not null)
        {
            throw new MediaFormatException(_failure);
        }

        try
        {
            PushCore(chunk);
        }
        catch (MediaFormatException ex)
        {
            _failure = ex.Message;
            throw;
        }
    }

    private void PushCore(ReadOnlySpan<byte> chunk)
    {
        while (true)
        {
            if (_active == ContainerKind.Unknown)
            {
                if (chunk.IsEmpty)
                {
                    return;
                }

                // An EBML header starts with 0x1A; an ftyp box with the top byte of a small size, 0x00.
                _active = chunk[0] switch
                {
                    0x1A => ContainerKind.Matroska,
                    0x00 => ContainerKind.Mp4,
                    _ => throw new MediaFormatException(ReaderState.NotMedia),
                };
            }

            // Each reader consumes the whole chunk unless the next recording is in the other format.
            var switchFormat = _active == ContainerKind.Matroska ? _matroska.Read(ref chunk) : _mp4.Read(ref chunk);
            if (!switchFormat)
            {
                return;
            }

            if (_active == ContainerKind.Matroska)
            {
                _active = ContainerKind.Mp4;
                _mp4.Reset();
            }
            else
            {
                _active = ContainerKind.Matroska;
                _matroska.Reset();
            }
        }
    }
}

namespace LiveStream.Media.Containers;

/// <summary>
/// What the Matroska and MP4 readers share: the absolute position, the pending bytes and the current recording, so a
/// restart may switch from one format to the other with the new header's first bytes already pending.
/// </summary>
internal sealed class ReaderState(IContainerSink sink, ContainerLimits limits)
{
    public const string NotMedia = "not WebM or MP4";

    public IContainerSink Sink { get; } = sink;

    public ContainerLimits Limits { get; } = limits;

    // The largest thing ever pending is a buffered element (Tracks, moov, moof), bounded by MaxHeaderBytes.
    public PendingBuffer Pending { get; } = new(Math.Max(limits.MaxHeaderBytes, 16));

    /// <summary>Absolute bytes consumed, pending ones included.</summary>
    public long Position { get; set; }

    /// <summary>
    /// Absolute position of the last point between two elements (or boxes) the reader has passed: every byte before
    /// it belongs to a complete element. What follows it may be an element still arriving.
    /// </summary>
    public long LastBoundary { get; set; }

    public ContainerKind Kind { get; private set; }

    public IReadOnlyList<TrackInfo> Tracks { get; private set; } = [];

    public bool HasRecording => Kind != ContainerKind.Unknown;

    public long RecordingStart { get; private set; }

    /// <summary>Makes <see cref="Pending"/> hold <paramref name="needed"/> bytes, taking them from <paramref name="input"/>.</summary>
    /// <returns>False when <paramref name="input"/> ran out first; the bytes taken stay pending for the next chunk.</returns>
    public bool Fill(ref ReadOnlySpan<byte> input, int needed)
    {
        Position += Pending.FillTo(ref input, needed);
        return Pending.Length >= needed;
    }

    /// <summary>Drops up to <paramref name="remaining"/> bytes from <paramref name="input"/> without copying them.</summary>
    /// <returns>True when all of <paramref name="remaining"/> has been skipped.</returns>
    public bool Skip(ref ReadOnlySpan<byte> input, ref long remaining)
    {
        var take = (int)Math.Min(remaining, input.Length);
        input = input[take..];
        Position += take;
        remaining -= take;
        return remaining == 0;
    }

    public void StartRecording(long offset, ContainerKind kind)
    {
        Kind = kind;
        Tracks = [];
        RecordingStart = offset;
        Sink.OnRecordingStart(offset, kind);
    }

    public void CompleteInit(long end, TrackInfo[] tracks)
    {
        // A read-only wrapper, so no receiver can change the tracks under the reader.
        Tracks = Array.AsReadOnly(tracks);
        Sink.OnInitSegment(RecordingStart, end, Tracks);
    }
}

namespace LiveStream.Testing.Load;

/// <summary>
/// What a simulated publisher sends and when: a capture's bytes (one shared array for every publisher), cut as the
/// recorder cut them and due when it produced them, or in fixed chunks at a fixed interval; once, or looped. A
/// looped capture repeats the whole file, header included, which the server takes as a recorder restart with the
/// same tracks (spliced, see docs/media.md), so the byte stream stays legal. Byte <c>p</c> of the stream is
/// always <c>capture[p % length]</c>, which is how an archive is checked.
/// </summary>
public sealed class LoadSchedule
{
    private readonly byte[] _bytes;
    private readonly long[] _starts;
    private readonly double[] _dueMs;
    private readonly double _periodMs;
    private readonly int _chunkBytes;
    private readonly double _intervalMs;
    private readonly bool _loop;

    /// <param name="capture">The capture; its bytes are shared, never copied.</param>
    /// <param name="chunkBytes">0: the recorder's own chunks at their recorded times; else chunks of this size.</param>
    /// <param name="intervalMs">With <paramref name="chunkBytes"/>: one chunk every this many ms.</param>
    /// <param name="loop">Repeat the capture without end (the run's time limit stops it).</param>
    public LoadSchedule(MediaCapture capture, int chunkBytes = 0, double intervalMs = 500, bool loop = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunkBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(intervalMs);
        _bytes = capture.Bytes;
        _chunkBytes = chunkBytes;
        _intervalMs = intervalMs;
        _loop = loop;

        // Zero-byte chunks carry nothing and get no ack: they are left out.
        var starts = new List<long>();
        var due = new List<double>();
        long offset = 0;
        var index = 0;
        foreach (var size in capture.ChunkSizes)
        {
            if (size > 0)
            {
                starts.Add(offset);
                due.Add(capture.ChunkTimesMs[index]);
            }

            offset += size;
            index++;
        }

        _starts = [.. starts];
        _dueMs = [.. due];
        _periodMs = Math.Max(capture.DurationMs, _dueMs[^1] + 1);
    }

    /// <summary>The capture's bytes.</summary>
    public ReadOnlyMemory<byte> Capture => _bytes;

    /// <summary>Bytes of the whole stream (<see cref="long.MaxValue"/> when looped).</summary>
    public long Length => _loop ? long.MaxValue : _bytes.Length;

    /// <summary>Chunk <paramref name="index"/>: where it starts, its length and when it is due after the start; false past the end.</summary>
    public bool TryGetChunk(long index, out long start, out int length, out double dueMs)
    {
        if (_chunkBytes > 0)
        {
            start = index * _chunkBytes;
            length = (int)Math.Min(_chunkBytes, Length - start);
            dueMs = index * _intervalMs;
            return start < Length;
        }

        var (loop, i) = Math.DivRem(index, _starts.Length);
        var end = i + 1 < _starts.Length ? _starts[i + 1] : _bytes.Length;
        start = (loop * _bytes.Length) + _starts[i];
        length = (int)(end - _starts[i]);
        dueMs = (loop * _periodMs) + _dueMs[i];
        return _loop || loop == 0;
    }

    /// <summary>The index of the chunk that holds byte <paramref name="offset"/> (one past the last at the end).</summary>
    public long ChunkAt(long offset)
    {
        if (_chunkBytes > 0)
        {
            return offset / _chunkBytes;
        }

        var (loop, within) = Math.DivRem(offset, _bytes.Length);
        var i = Array.BinarySearch(_starts, within);
        return (loop * _starts.Length) + (i >= 0 ? i : ~i - 1);
    }

    /// <summary>Copies the stream's bytes from <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    public void CopyTo(long offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var at = (int)(offset % _bytes.Length);
            var n = Math.Min(destination.Length, _bytes.Length - at);
            _bytes.AsSpan(at, n).CopyTo(destination);
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>The first offset from <paramref name="offset"/> on where <paramref name="data"/> differs from the stream, or -1.</summary>
    public long FirstDifference(long offset, ReadOnlySpan<byte> data)
    {
        var position = offset;
        while (!data.IsEmpty)
        {
            var at = (int)(position % _bytes.Length);
            var n = Math.Min(data.Length, _bytes.Length - at);
            var differs = data[..n].CommonPrefixLength(_bytes.AsSpan(at, n));
            if (differs < n)
            {
                return position + differs;
            }

            data = data[n..];
            position += n;
        }

        return -1;
    }
}

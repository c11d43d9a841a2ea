namespace LiveStream.Sessions;

/// <summary>
/// A session's committed ingest bitrate over the commits of the last <see cref="Window"/>: the bytes committed after
/// the oldest commit in the window, over the time from it to the newest. Chunks arrive a few times a second, so this
/// counts whole chunks over whole intervals instead of cutting them at a clock tick. 0 when nothing was committed
/// for a whole window (the publisher is gone or stalled). Owned by one grain: not thread-safe.
/// </summary>
internal sealed class IngestRate(TimeProvider time)
{
    /// <summary>How far back the bitrate is measured.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    // Bounds the samples whatever the chunk rate: a publisher sending tiny chunks keeps at most this many.
    private const int MaxSamples = 512;

    private readonly Queue<(long At, long Committed)> _samples = new();

    /// <summary>Records that the session's committed bytes reached <paramref name="committed"/> now.</summary>
    public void Commit(long committed)
    {
        var now = time.GetTimestamp();
        _samples.Enqueue((now, committed));

        // Keep the newest sample at or before the window's start as the anchor, and nothing older.
        while (_samples.Count > 2 && (time.GetElapsedTime(SecondOldest(), now) >= Window || _samples.Count > MaxSamples))
        {
            _samples.Dequeue();
        }
    }

    /// <summary>Bits per second over the window, 0 when nothing was committed in it, null before two commits.</summary>
    public long? BitsPerSecond
    {
        get
        {
            if (_samples.Count == 0)
            {
                return null;
            }

            var newest = _samples.Last();
            if (time.GetElapsedTime(newest.At) >= Window)
            {
                return 0;
            }

            if (_samples.Count < 2)
            {
                return null;
            }

            var oldest = _samples.Peek();
            var seconds = time.GetElapsedTime(oldest.At, newest.At).TotalSeconds;
            return seconds <= 0 ? null : (long)Math.Round((newest.Committed - oldest.Committed) * 8 / seconds);
        }
    }

    private long SecondOldest()
    {
        using var e = _samples.GetEnumerator();
        e.MoveNext();
        e.MoveNext();
        return e.Current.At;
    }
}

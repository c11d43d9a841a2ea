namespace LiveStream.Gateway.Ingest;

/// <summary>
/// Bytes received over a sliding window of whole seconds: one counter per second, so its size is fixed whatever
/// the traffic. Not thread-safe: one connection's receive loop owns it.
/// </summary>
internal sealed class BitrateMeter(TimeSpan window, TimeProvider time)
{
    private readonly long[] _seconds = new long[Math.Max(1, (int)Math.Ceiling(window.TotalSeconds))];
    private readonly long _start = time.GetTimestamp();
    private long _current;
    private long _sum;

    /// <summary>Adds <paramref name="bytes"/> now; returns the bits per second averaged over the window.</summary>
    public double Add(long bytes)
    {
        var now = (long)time.GetElapsedTime(_start).TotalSeconds;
        if (now - _current >= _seconds.Length)
        {
            Array.Clear(_seconds);
            _sum = 0;
        }
        else
        {
            for (var second = _current + 1; second <= now; second++)
            {
                var slot = (int)(second % _seconds.Length);
                _sum -= _seconds[slot];
                _seconds[slot] = 0;
            }
        }

        _current = now;
        _seconds[(int)(now % _seconds.Length)] += bytes;
        _sum += bytes;
        return _sum * 8 / (double)_seconds.Length;
    }
}

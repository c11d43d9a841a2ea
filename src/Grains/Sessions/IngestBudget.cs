namespace LiveStream.Sessions;

/// <summary>
/// The session's ingest cap, kept by the session itself so that no reconnect and no other gateway starts it afresh: a
/// token bucket that fills at <c>Session:MaxBitsPerSecond</c> and holds a burst of <c>Session:IngestBurst</c> worth.
/// A write the bucket cannot pay for waits (the gateway is told the buffer is full and sends it again), so a publisher
/// over the cap is slowed to it, never cut off by it.
/// </summary>
internal sealed class IngestBudget
{
    private readonly TimeProvider _time;
    private readonly double _bytesPerSecond;
    private readonly double _capacity;
    private double _tokens;
    private long _at;

    public IngestBudget(TimeProvider time, long maxBitsPerSecond, TimeSpan burst)
    {
        _time = time;
        _bytesPerSecond = maxBitsPerSecond / 8.0;
        _capacity = Math.Max(1, _bytesPerSecond * burst.TotalSeconds);
        _tokens = _capacity;
        _at = time.GetTimestamp();
    }

    /// <summary>No cap (<c>Session:MaxBitsPerSecond</c> 0).</summary>
    public bool Unlimited => _bytesPerSecond <= 0;

    /// <summary>
    /// Takes <paramref name="bytes"/> new bytes from the bucket when it holds them (or is full, for a chunk larger than
    /// the whole burst: the debt is then paid back before the next write passes). False: the write must wait.
    /// </summary>
    public bool TryTake(int bytes)
    {
        if (Unlimited)
        {
            return true;
        }

        var now = _time.GetTimestamp();
        _tokens = Math.Min(_capacity, _tokens + (_time.GetElapsedTime(_at, now).TotalSeconds * _bytesPerSecond));
        _at = now;
        if (_tokens < Math.Min(bytes, _capacity))
        {
            return false;
        }

        _tokens -= bytes;
        return true;
    }
}

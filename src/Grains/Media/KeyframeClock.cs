namespace LiveStream.Media;

/// <summary>The gaps between the last few video keyframes, for the session status.</summary>
internal sealed class KeyframeClock
{
    private readonly long[] _gaps = new long[8];
    private long _last = -1;
    private int _count;
    private int _next;

    public long? MaxIntervalMs => _count == 0 ? null : _gaps.Take(_count).Max();

    public void Add(long timestampMs)
    {
        if (_last >= 0 && timestampMs > _last)
        {
            _gaps[_next] = timestampMs - _last;
            _next = (_next + 1) % _gaps.Length;
            _count = Math.Min(_count + 1, _gaps.Length);
        }

        _last = timestampMs;
    }

    public void Reset() => _last = -1;
}

using System.Collections.Concurrent;

namespace LiveStream.Timing;

/// <summary>
/// One timer for many members: every <c>period</c> it calls <c>tick</c> for each member, and it runs only while it
/// has members. Per-member work that recurs (a lease renewal, an idle check) costs a timer and a thread wake-up per
/// member and period when each member keeps its own; on one clock it is one wake-up per period for all of them.
/// <c>tick</c> must return quickly and never throw: work that waits is started, not awaited.
/// </summary>
public sealed class SharedClock<T> : IDisposable
    where T : class
{
    // Members ticked in one go before the tick lets other work in (thousands of members).
    private const int MembersPerSlice = 256;

    private readonly ConcurrentDictionary<T, byte> _members = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _gate = new();
    private readonly TimeSpan _period;
    private readonly Action<T> _tick;
    private readonly ITimer _timer;
    private bool _running;
    private int _ticking;

    public SharedClock(TimeSpan period, TimeProvider time, Action<T> tick)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        _period = period;
        _tick = tick;
        _timer = time.CreateTimer(static state => _ = ((SharedClock<T>)state!).TickAsync(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The members now.</summary>
    public int Count => _members.Count;

    /// <summary>Ticks <paramref name="member"/> from the next period on, until <see cref="Remove"/>.</summary>
    public void Add(T member)
    {
        _members.TryAdd(member, 0);
        lock (_gate)
        {
            if (!_running)
            {
                _running = true;
                _timer.Change(_period, _period);
            }
        }
    }

    public void Remove(T member)
    {
        _members.TryRemove(member, out _);
        lock (_gate)
        {
            if (_running && _members.IsEmpty)
            {
                _running = false;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private async Task TickAsync()
    {
        // A tick still going when the next one fires (thousands of members on a stalled machine) is enough.
        if (Interlocked.Exchange(ref _ticking, 1) == 1)
        {
            return;
        }

        try
        {
            var ticked = 0;
            foreach (var member in _members.Keys)
            {
                _tick(member);
                if (++ticked % MembersPerSlice == 0)
                {
                    await Task.Yield();
                }
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }
}

using LiveStream.Options;
using LiveStream.Timing;
using Microsoft.Extensions.Options;

namespace LiveStream.Leases;

/// <summary>
/// One renewal clock for every lease the sessions of a silo hold: every <c>RenewInterval</c> it starts a renewal for
/// each held lease whose previous renewal has returned. A timer per lease woke the process once a second per session
/// (at 50 sessions about a third of the silo's thread wake-ups); this is one wake-up a second for all of them, and
/// none while no lease is held. The renewals themselves are independent: one that hangs on the store holds up only
/// its own lease (its keeper's deadline fences it), never the others'.
/// </summary>
internal sealed class LeaseRenewals : IDisposable
{
    private readonly SharedClock<LeaseKeeper> _clock;

    public LeaseRenewals(IOptions<LeaseOptions> options, TimeProvider time)
    {
        Options = options.Value;
        Time = time;
        _clock = new SharedClock<LeaseKeeper>(Options.RenewInterval, time, static keeper => keeper.RenewIfIdle());
    }

    public LeaseOptions Options { get; }

    public TimeProvider Time { get; }

    /// <summary>The leases being renewed now.</summary>
    public int Count => _clock.Count;

    /// <summary>Renews <paramref name="keeper"/>'s lease from the next tick on, until <see cref="Remove"/>.</summary>
    public void Add(LeaseKeeper keeper) => _clock.Add(keeper);

    public void Remove(LeaseKeeper keeper) => _clock.Remove(keeper);

    public void Dispose() => _clock.Dispose();
}

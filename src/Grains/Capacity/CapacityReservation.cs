namespace LiveStream.Capacity;

/// <summary>
/// A live session's units in the silo's admission ledger: taken when the session is admitted (or moves here),
/// corrected as its media becomes known, given back exactly once when it is disposed.
/// </summary>
internal sealed class CapacityReservation : IDisposable
{
    private readonly SiloCapacity _capacity;
    private readonly string _streamId;
    private int _released;

    private CapacityReservation(SiloCapacity capacity, string streamId)
    {
        _capacity = capacity;
        _streamId = streamId;
    }

    /// <summary>Admits a new session at <paramref name="cost"/> when it fits; null when it does not.</summary>
    public static CapacityReservation? TryAdmit(SiloCapacity capacity, string streamId, int cost) =>
        capacity.TryAdmit(streamId, cost) ? new CapacityReservation(capacity, streamId) : null;

    /// <summary>Counts a session that was admitted before (it moved here): never refused.</summary>
    public static CapacityReservation Adopt(SiloCapacity capacity, string streamId, int cost)
    {
        capacity.Update(streamId, cost);
        return new CapacityReservation(capacity, streamId);
    }

    /// <summary>The session's media is known now: it costs <paramref name="cost"/>.</summary>
    public void Update(int cost)
    {
        if (Volatile.Read(ref _released) == 0)
        {
            _capacity.Update(_streamId, cost);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _capacity.Release(_streamId);
        }
    }
}

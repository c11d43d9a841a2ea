using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>
/// What another silo needs to continue a live session: the failover record (session id, durably committed offset)
/// and, apart from it, the recording's init segment, written only when it changes. A write that fails (the store
/// is down, or timed out after it landed) leaves the store marked stale; the next write reads the stored version
/// first, so one blip does not fail every later write on its ETag. Every write carries the writer's lease fencing
/// token: a writer whose token is older than the stored one has been replaced, and is told so
/// (<see cref="Superseded"/>) instead of overwriting its successor's record.
/// </summary>
internal sealed class FailoverStore(IPersistentState<LiveRecord> live, IPersistentState<InitRecord> init)
{
    private bool _stale;

    /// <summary>True once a write found a record of a newer lease holder: this writer must stop.</summary>
    public bool Superseded { get; private set; }

    /// <summary>The live session's id in the stored record, or null.</summary>
    public string? SessionId => live.State.SessionId;

    /// <summary>The committed offset the store holds for the live session.</summary>
    public long Committed => live.State.Committed;

    /// <summary>The stored init segment of the live session's recording.</summary>
    public byte[] InitSegment => init.State.SessionId == live.State.SessionId ? init.State.Segment : [];

    /// <summary>Reads both records again (another silo may have written them since this activation read them).</summary>
    public async Task ReadAsync()
    {
        await live.ReadStateAsync();
        await init.ReadStateAsync();
        _stale = false;
    }

    /// <summary>
    /// Stores <paramref name="committed"/> (and <paramref name="initSegment"/> when it changed) for
    /// <paramref name="sessionId"/>. True once durable; false when the store failed, and nothing may be
    /// acknowledged past what it held before.
    /// </summary>
    public async Task<bool> SaveAsync(string sessionId, long committed, byte[] initSegment, long leaseToken)
    {
        try
        {
            if (_stale)
            {
                await ReadAsync();
            }

            if (IsNewerThan(leaseToken))
            {
                return false;
            }

            if (!ReferenceEquals(init.State.Segment, initSegment) && (init.State.SessionId != sessionId || !init.State.Segment.AsSpan().SequenceEqual(initSegment)))
            {
                init.State.SessionId = sessionId;
                init.State.Segment = initSegment;
                await init.WriteStateAsync();
            }

            if (live.State.SessionId == sessionId && live.State.Committed == committed && !_stale)
            {
                return true;
            }

            live.State.SessionId = sessionId;
            live.State.Committed = committed;
            live.State.LeaseToken = leaseToken;
            await live.WriteStateAsync();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _stale = true;
            return false;
        }
    }

    /// <summary>The session is over: nothing is to be continued. False when the store failed (the caller retries).</summary>
    public async Task<bool> ClearAsync(long leaseToken)
    {
        try
        {
            if (_stale)
            {
                await ReadAsync();
            }

            if (IsNewerThan(leaseToken))
            {
                // A newer holder owns the record: this session's end is not this writer's to store there.
                return true;
            }

            live.State = new LiveRecord { LeaseToken = leaseToken };
            await live.WriteStateAsync();
            if (init.State.Segment.Length > 0)
            {
                init.State = new InitRecord();
                await init.WriteStateAsync();
            }

            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _stale = true;
            return false;
        }
    }

    private bool IsNewerThan(long leaseToken)
    {
        if (live.State.LeaseToken > leaseToken)
        {
            Superseded = true;
        }

        return Superseded;
    }

    /// <summary>Removes both records (the stream is deleted).</summary>
    public async Task DeleteAsync()
    {
        await live.ClearStateAsync();
        await init.ClearStateAsync();
    }
}

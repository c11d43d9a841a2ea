using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>
/// What another silo needs to continue a live session: the failover record (session id, durably committed offset)
/// and, apart from it, the recording's init segment, written only when it changes. A write that fails (the store
/// is down, or timed out after it landed) leaves the store marked stale; the next write reads the stored version
/// first, so one blip does not fail every later write on its ETag.
/// </summary>
internal sealed class FailoverStore(IPersistentState<LiveRecord> live, IPersistentState<InitRecord> init)
{
    private bool _stale;

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
    public async Task<bool> SaveAsync(string sessionId, long committed, byte[] initSegment)
    {
        try
        {
            if (_stale)
            {
                await ReadAsync();
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
    public async Task<bool> ClearAsync()
    {
        try
        {
            if (_stale)
            {
                await ReadAsync();
            }

            live.State = new LiveRecord();
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

    /// <summary>Removes both records (the stream is deleted).</summary>
    public async Task DeleteAsync()
    {
        await live.ClearStateAsync();
        await init.ClearStateAsync();
    }
}

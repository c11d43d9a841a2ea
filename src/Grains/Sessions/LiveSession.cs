using LiveStream.Ingest;
using LiveStream.Capacity;
using LiveStream.Leases;
using LiveStream.Media;
using LiveStream.Streams;
using LiveStream.Webhooks;

namespace LiveStream.Sessions;

/// <summary>
/// A live session and everything it holds: its record, lease (with the fence that kills its processes when the
/// lease is no longer proven), media pipeline (archive, router, FFmpeg, relays), capacity reservation, restart
/// budget, failover record and tick timer. Each is created here and released in one place,
/// <see cref="CloseAsync"/>, the session's only way out. Runs inside its grain's turns; only the fence callback
/// runs elsewhere.
/// </summary>
internal sealed partial class LiveSession
{
    private readonly SessionServices _services;
    private readonly ISessionHost _host;
    private readonly LeaseKeeper _lease;
    private readonly CapacityReservation _capacity;
    private readonly FailoverStore _failover;
    private readonly RestartPolicy _restarts;
    private readonly IDisposable _tracking;
    private readonly IGrainTimer _tick;
    private long _lastHeard;
    private bool _closed;

    private LiveSession(SessionServices services, ISessionHost host, SessionRecord record, LeaseKeeper lease, CapacityReservation capacity, FailoverStore failover, RestartPolicy restarts, SessionPipeline pipeline, long committed)
    {
        _services = services;
        _host = host;
        _lease = lease;
        _capacity = capacity;
        _failover = failover;
        _restarts = restarts;
        Record = record;
        Pipeline = pipeline;
        Committed = committed;
        Durable = committed;
        Rate = new IngestRate(services.Time);
        Budget = new IngestBudget(services.Time, services.Session.MaxBitsPerSecond, services.Session.IngestBurst);
        _lastHeard = services.Time.GetTimestamp();

        // The fence fires on the lease keeper's thread: the processes die at once, and the tick runs at once to close
        // the session, not at the next grain turn.
        _turns = TaskScheduler.Current;
        lease.OnFenced(pipeline.Fence);
        lease.OnFenced(WakeFromAnyThread);
        _tracking = services.Instruments.TrackSession(() => record.State);
        _tick = host.StartTimer(OnTickAsync, services.Session.TickInterval);
        _tickAt = services.Time.GetUtcNow() + services.Session.TickInterval;
        _nextSample = services.Time.GetUtcNow();
    }

    public SessionRecord Record { get; }

    public SessionPipeline Pipeline { get; }

    /// <summary>The committed ingest bitrate over the last seconds.</summary>
    public IngestRate Rate { get; }

    /// <summary>The session's ingest cap, across its connections and gateways.</summary>
    public IngestBudget Budget { get; }

    /// <summary>Bytes committed here (archive written, router fed).</summary>
    public long Committed { get; private set; }

    /// <summary>Bytes the failover record covers: what is acknowledged.</summary>
    public long Durable { get; private set; }

    /// <summary>The gateway side of the current publisher, told when it must close.</summary>
    public IPublisherObserver? Observer { get; set; }

    /// <summary>
    /// Starts a new session: admission, lease, pipeline, stored record. Returns the session, or why it was not
    /// started (no room on this silo; the lease is held elsewhere or its store is unreachable).
    /// </summary>
    public static async Task<(LiveSession? Session, StartRefusal Refusal)> StartAsync(SessionServices services, ISessionHost host, FailoverStore failover)
    {
        var stream = host.Stream;
        var capacity = CapacityReservation.TryAdmit(services.Capacity, host.StreamId, SessionCost.Reserve(stream.Outputs));
        if (capacity is null)
        {
            return (null, StartRefusal.NoRoom);
        }

        var sessionId = SessionIds.NewSessionId(host.StreamId);
        var lease = await TryAcquireAsync(services, host, sessionId);
        if (lease is null)
        {
            capacity.Dispose();
            return (null, StartRefusal.LeaseUnavailable);
        }

        var record = new SessionRecord
        {
            Id = sessionId,
            State = SessionState.Active,
            StartedAt = services.Time.GetUtcNow(),
            HlsUrl = stream.Outputs.Any(o => o.Type == OutputType.Hls) ? DataLayout.HlsUrl(sessionId) : null,
            HasArchive = SessionPipeline.WantsArchive(stream.Outputs),
            LeaseToken = lease.Current!.Token,
        };
        var restarts = new RestartPolicy(services.Session.MaxFfmpegRestarts, services.Time, record);
        SessionPipeline pipeline;
        try
        {
            pipeline = OpenPipeline(services, stream, sessionId, restarts, lease, resumeAt: null);
        }
        catch
        {
            await lease.DisposeAsync();
            capacity.Dispose();
            throw;
        }

        record.ConnectionEpoch = ++stream.LastEpoch;
        stream.Sessions.Add(record);
        SessionHistory.ForgetExpired(services, stream);
        var excess = stream.Sessions.Count - services.Session.HistoryLimit;
        if (excess > 0)
        {
            stream.Sessions.RemoveRange(0, excess);
        }

        var session = new LiveSession(services, host, record, lease, capacity, failover, restarts, pipeline, 0);
        try
        {
            // The failover record names the session before anything is acknowledged: a silo that dies now leaves a
            // session another silo continues, not one nobody owns.
            await host.SaveStreamAsync();
            if (!await failover.SaveAsync(sessionId, 0, [], record.LeaseToken))
            {
                throw new InvalidOperationException("The failover record could not be stored.");
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogNotStored(services.Logger, ex, sessionId);
            await session.CloseAsync(SessionClose.Fail, "the session could not be stored", CloseCodes.ClusterUnavailable, publisherReason: null);
            return (null, StartRefusal.LeaseUnavailable);
        }

        LogSessionStarted(services.Logger, sessionId, host.StreamId);
        host.Emit(SessionEventTypes.Active, sessionId);
        return (session, StartRefusal.None);
    }

    /// <summary>
    /// Continues session <paramref name="sessionId"/>, which another activation ran (its silo died, or handed it off),
    /// from the committed offset and init segment of the failover record. Null while the lease is held elsewhere or
    /// cannot be had (<c>Retry</c>), or when the session turned out to have ended (nothing to retry).
    /// </summary>
    public static async Task<(LiveSession? Session, bool Retry)> RestoreAsync(SessionServices services, ISessionHost host, FailoverStore failover, string sessionId)
    {
        var lease = await TryAcquireAsync(services, host, sessionId);
        if (lease is null)
        {
            return (null, true);
        }

        SessionRecord? record;
        try
        {
            // Read now, under the lease: a silo handing the session off stores its last state before letting go.
            await host.ReloadStreamAsync();
            await failover.ReadAsync();
            record = host.Stream.Sessions.Find(s => s.Id == sessionId && s.IsLive && failover.SessionId == sessionId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogNotStored(services.Logger, ex, sessionId);
            await lease.DisposeAsync();
            return (null, true);
        }

        if (record is null)
        {
            // It ended meanwhile: nothing to pick up, and no FFmpeg for a playlist that is finished.
            await lease.DisposeAsync();
            return (null, false);
        }

        var committed = failover.Committed;
        var restarts = new RestartPolicy(services.Session.MaxFfmpegRestarts, services.Time, record);
        var pipeline = OpenPipeline(services, host.Stream, sessionId, restarts, lease, resumeAt: committed);
        pipeline.Resume(failover.InitSegment, committed);
        if (failover.InitSegment.Length > 0)
        {
            // The previous owner had started FFmpeg (its recording's header was known): this owner starts it again.
            restarts.Moved();
            services.Instruments.FfmpegRestarts.Add(1, new KeyValuePair<string, object?>("reason", "moved"));
        }

        record.BytesIngested = committed;
        record.LeaseToken = lease.Current!.Token;
        if (record.State == SessionState.Active)
        {
            // Its publisher may be gone with the old silo's gateway connection: the window runs from now, and the
            // publisher's next chunk on the current epoch shows it is still there.
            record.State = SessionState.Disconnected;
            record.DisconnectedAt = services.Time.GetUtcNow();
        }

        // A session that moves here is never refused: it was admitted once, and its publisher is already live.
        var capacity = CapacityReservation.Adopt(services.Capacity, host.StreamId, SessionCost.Of(host.Stream.Outputs, pipeline.Tracks.Count > 0 ? pipeline.Tracks : null));
        var session = new LiveSession(services, host, record, lease, capacity, failover, restarts, pipeline, committed);
        LogRestored(services.Logger, sessionId, committed);
        return (session, false);
    }

    /// <summary>
    /// The one close path. Stops the tick, tells the publisher (when <paramref name="publisherReason"/> is given),
    /// then by <paramref name="how"/>: finalises or kills the processes, stores or skips the end, releases the lease
    /// once no process of the session is left, and gives the capacity back.
    /// </summary>
    public async Task CloseAsync(SessionClose how, string reason, int closeCode, string? publisherReason)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _tick.Dispose();
        _wakeups.Cancel();
        if (publisherReason is not null)
        {
            NotifyPublisher(closeCode, publisherReason);
        }

        Observer = null;
        var durable = true;
        switch (how)
        {
            case SessionClose.Lost:
                LogLeaseLost(_services.Logger, Record.Id);
                _lease.Fence();
                await Pipeline.DisposeAsync();
                await _lease.DisposeAsync();
                break;
            case SessionClose.HandOff:
                LogHandingOff(_services.Logger, Record.Id, reason, Committed);
                await Pipeline.DisposeAsync();
                Record.FfmpegPid = null;
                await StoreBoundedAsync(async () =>
                {
                    // Everything committed here is in the archive: the next owner continues from it.
                    await _failover.SaveAsync(Record.Id, Committed, Pipeline.InitSegment, Record.LeaseToken);
                    await _host.SaveStreamAsync();
                });
                await _lease.DisposeAsync();
                break;
            default:
                await StopGracefullyAsync();

                // Released before the end shows in the status (status reads interleave with this close).
                ReleaseSiloResources();
                Record.State = how == SessionClose.Fail ? SessionState.Failed : SessionState.Ended;
                Record.EndedAt = _services.Time.GetUtcNow();
                Record.EndReason = reason;
                Record.CloseCode = closeCode;
                Record.FfmpegPid = null;
                Record.BytesIngested = Committed;
                durable = await StoreEndAsync();
                LogSessionEnded(_services.Logger, Record.Id, Record.State, reason, Committed);
                _host.Emit(how == SessionClose.Fail ? SessionEventTypes.Failed : SessionEventTypes.Ended, Record.Id, reason, closeCode);
                break;
        }

        ReleaseSiloResources();
        _host.Closed(this, how, durable);
    }

    /// <summary>The session's units in the silo's ledger and its place in the session gauges (each released once).</summary>
    private void ReleaseSiloResources()
    {
        _capacity.Dispose();
        _tracking.Dispose();
    }

    /// <summary>
    /// Stores an ended session's end: the failover record first (once it is cleared no silo restores the session,
    /// whatever the stream record says), then the stream record. False when the store failed; the grain retries.
    /// </summary>
    public async Task<bool> StoreEndAsync()
    {
        try
        {
            if (!await _failover.ClearAsync(Record.LeaseToken))
            {
                return false;
            }

            await _host.SaveStreamAsync();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogNotStored(_services.Logger, ex, Record.Id);
            return false;
        }
    }

    private static async Task<LeaseKeeper?> TryAcquireAsync(SessionServices services, ISessionHost host, string sessionId)
    {
        var lease = new LeaseKeeper(services.Leases, services.LeaseRenewals, services.Logger, host.StreamId, LeaseKeeper.HolderId(host.Silo, sessionId));
        try
        {
            if (await lease.AcquireAsync(CancellationToken.None))
            {
                return lease;
            }

            LogLeaseHeldElsewhere(services.Logger, host.StreamId);
        }
        catch (Exception ex) when (ex is LeaseStoreUnavailableException or TimeoutException)
        {
            // Without the lease store nobody can prove this is the only FFmpeg: refuse, the client retries.
            LogLeaseStoreUnavailable(services.Logger, ex, host.StreamId);
        }

        await lease.DisposeAsync();
        return null;
    }

    private static SessionPipeline OpenPipeline(SessionServices services, StreamRecord stream, string sessionId, RestartPolicy restarts, LeaseKeeper lease, long? resumeAt)
    {
        var spec = new MediaProcessSpec(sessionId, stream.Outputs, DataLayout.HlsDirectory(services.DataPath, sessionId));
        var wantsArchive = SessionPipeline.WantsArchive(stream.Outputs);
        return SessionPipeline.Start(
            spec,
            wantsArchive ? DataLayout.ArchivePath(services.DataPath, sessionId) : null,
            services.Session.BufferBytes,
            services.Runner,
            services.Supervisor,
            restarts,
            () => lease.IsHeld,
            resumeAt,
            services.Simulcast,
            services.Instruments);
    }

    /// <summary>
    /// Lets FFmpeg finalise outside the grain turn, waiting at most <c>Session:EndWait</c>. The lease is kept (its
    /// keeper renews on its own) until every process is gone; only then may another session start one.
    /// </summary>
    private async Task StopGracefullyAsync()
    {
        var pipeline = Pipeline;
        var lease = _lease;
        var stopping = _services.Supervisor.RunDetached(async () =>
        {
            try
            {
                await pipeline.StopAsync(CancellationToken.None);
            }
            finally
            {
                await lease.DisposeAsync();
            }
        });
        try
        {
            await stopping.WaitAsync(_services.Session.EndWait);
        }
        catch (TimeoutException)
        {
            LogStillStopping(_services.Logger, Record.Id);
        }
    }

    private async Task StoreBoundedAsync(Func<Task> store)
    {
        try
        {
            await store().WaitAsync(_services.Session.LiveStateWriteTimeout);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // What was acknowledged is stored already (every ack follows a write); only counters may be stale.
            LogNotStored(_services.Logger, ex, Record.Id);
        }
    }

    private void NotifyPublisher(int closeCode, string reason)
    {
        if (Observer is { } observer)
        {
            Observer = null;
            observer.CloseAsync(Record.ConnectionEpoch, closeCode, reason, Record.LeaseToken).Ignore();
        }
    }
}

/// <summary>Why <see cref="LiveSession.StartAsync"/> did not start a session.</summary>
internal enum StartRefusal
{
    None,
    NoRoom,
    LeaseUnavailable,
}

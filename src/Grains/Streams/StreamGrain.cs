using LiveStream.Capacity;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Storage;
using LiveStream.Webhooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace LiveStream.Streams;

/// <summary>
/// The one grain of a stream: its definition and keys, and routing to its live session. The session itself (lease,
/// FFmpeg, capacity, failover record, timers) is a <see cref="LiveSession"/>, which owns all of it and closes it
/// through one path; this grain holds at most one, picks one up after a failover, and stores an end that could not
/// be stored at once.
/// </summary>
[GrainType("livestream.stream")]
[CapacityPlacement]
internal sealed partial class StreamGrain(
    [PersistentState("stream", StorageNames.LiveStream)] IPersistentState<StreamRecord> state,
    [FromKeyedServices(StorageNames.Failover)] IGrainStorage failoverStorage,
    SessionServices services,
    ClusterPlacement placement,
    ISessionEvents sessionEvents,
    ILocalSiloDetails localSilo,
    ILogger<StreamGrain> logger) : Grain, IStreamGrain, ISessionHost
{
    private FailoverStore? _failover;
    private LiveSession? _live;
    private string? _toRestore;
    private LiveSession? _unstoredEnd;
    private IDisposable? _maintenance;

    public string StreamId => this.GetPrimaryKeyString();

    /// <summary>The stream's failover records, read when the grain activates.</summary>
    private FailoverStore Failover => _failover ?? throw new InvalidOperationException("The stream grain has not activated.");

    SiloAddress ISessionHost.Silo => localSilo.SiloAddress;

    StreamRecord ISessionHost.Stream => state.State;

    public async Task<StreamInfo> CreateAsync(CreateStreamCommand command)
    {
        if (state.RecordExists)
        {
            throw new InvalidOperationException("The stream exists already.");
        }

        state.State = new StreamRecord
        {
            Name = command.Name,
            KeyHash = command.KeyHash,
            Outputs = [.. command.Outputs],
            Settings = command.Settings,
            CreatedAt = services.Time.GetUtcNow(),
            Webhook = command.Webhook,
        };
        await state.WriteStateAsync();
        return StreamInfoProjection.Of(StreamId, state.State, _live?.Record);
    }

    public Task<StreamInfo?> GetAsync() => Task.FromResult(state.RecordExists ? StreamInfoProjection.Of(StreamId, state.State, _live?.Record) : null);

    public async Task<StreamInfo?> UpdateAsync(UpdateStreamCommand command)
    {
        if (!state.RecordExists)
        {
            return null;
        }

        var record = state.State;
        record.Name = command.Name ?? record.Name;
        record.Outputs = command.Outputs is { } outputs ? [.. outputs] : record.Outputs;
        record.Settings = record.Settings with
        {
            ReconnectWindowSeconds = command.ReconnectWindowSeconds ?? record.Settings.ReconnectWindowSeconds,
            DuplicatePolicy = command.DuplicatePolicy ?? record.Settings.DuplicatePolicy,
        };
        record.Webhook = command.RemoveWebhook ? null : command.Webhook ?? record.Webhook;
        await state.WriteStateAsync();
        return StreamInfoProjection.Of(StreamId, state.State, _live?.Record);
    }

    public async Task<bool> RotateKeyAsync(byte[] newKeyHash, bool keepForLiveSession = false)
    {
        if (!state.RecordExists)
        {
            return false;
        }

        // The old key is cut off at once, for new sessions and for reconnects to the live one, unless the operator asked
        // to let the live session's publisher keep reconnecting with it until that session ends.
        var liveId = keepForLiveSession ? _live?.Record.Id ?? _toRestore : null;
        await StreamKeys.RotateAsync(Directory, StreamId, state.State, newKeyHash, liveId);
        await state.WriteStateAsync();
        LogKeyRotated(logger, StreamId, liveId);
        return true;
    }

    public async Task<bool> DeleteAsync()
    {
        if (!state.RecordExists)
        {
            return false;
        }

        await TryRestoreAsync();
        if (_live is not null)
        {
            await _live.CloseAsync(SessionClose.End, "stream deleted", CloseCodes.EndedByOperator, "stream deleted");
        }

        _toRestore = null;
        _unstoredEnd = null;
        await Directory.RemoveAsync(StreamId);
        await state.ClearStateAsync();
        await Failover.DeleteAsync();
        LogStreamDeleted(logger, StreamId);
        DeactivateOnIdle();
        return true;
    }

    public async Task<SessionStatus?> StopSessionAsync(string sessionId)
    {
        if (_toRestore == sessionId)
        {
            await TryRestoreAsync();
        }

        if (_live?.Record.Id == sessionId)
        {
            await _live.CloseAsync(SessionClose.End, "stopped by the operator", CloseCodes.EndedByOperator, "session stopped by the operator");
        }

        return await GetSessionAsync(sessionId);
    }

    public async Task<ConnectResult> ConnectAsync(ConnectRequest request)
    {
        var key = StreamKeys.Match(state, request.KeyHash);
        if (key == StreamKeys.KeyMatch.None)
        {
            return ConnectResult.Refused(CloseCodes.UnknownKey, "unknown stream key");
        }

        if (!await TryRestoreAsync())
        {
            return ConnectResult.Refused(CloseCodes.ClusterUnavailable, "stream is still running elsewhere; retry shortly");
        }

        // After a restore, which reads the state again.
        if (key == StreamKeys.KeyMatch.Retired && (_live is null || _live.Record.Id != state.State.RetiredKeysSessionId))
        {
            // A rotated-away key only lets the publisher of the session live at rotation come back to it.
            return ConnectResult.Refused(CloseCodes.UnknownKey, "unknown stream key");
        }

        if (_live is not null)
        {
            return await _live.ConnectAsync(request);
        }

        var (live, refusal) = await LiveSession.StartAsync(services, this, Failover);
        switch (refusal)
        {
            case StartRefusal.NoRoom:
                return placement.RefuseForCapacity(this, SessionCost.Reserve(state.State.Outputs));
            case StartRefusal.LeaseUnavailable:
                return ConnectResult.Refused(CloseCodes.ClusterUnavailable, "stream is still running elsewhere; retry shortly");
        }

        _live = live!;
        _unstoredEnd = null;
        _live.Observer = request.Observer;
        return _live.Accepted();
    }

    public async ValueTask<WriteResult> WriteAsync(ChunkWrite write)
    {
        try
        {
            if (!await TryRestoreAsync())
            {
                // Failover in progress: the sender waits (its socket is not read) until this silo owns the stream.
                return new WriteResult(WriteOutcome.BufferFull, Failover.Committed);
            }

            return _live is not null && write.Epoch == _live.Record.ConnectionEpoch
                ? await _live.WriteAsync(write)
                : StreamKeys.Closed(state, _live, write.Epoch);
        }
        finally
        {
            // The session copied what it keeps: a payload delivered in pooled memory goes back to the pool.
            write.Data.Release();
        }
    }

    public Task AttachAsync(int epoch, IPublisherObserver observer)
    {
        _live?.Attach(epoch, observer);
        return Task.CompletedTask;
    }

    public async Task DisconnectAsync(int epoch, DisconnectKind kind, int closeCode)
    {
        if (_live is not null)
        {
            await _live.DisconnectAsync(epoch, kind, closeCode);
        }
    }

    public Task<SessionStatus?> GetSessionAsync(string sessionId)
    {
        var record = state.RecordExists ? state.State.Sessions.Find(s => s.Id == sessionId) : null;
        return Task.FromResult(record is null ? null : SessionStatusProjection.Of(StreamId, record, _live, localSilo.SiloAddress));
    }

    public Task<IReadOnlyList<SessionStatus>> ListSessionsAsync()
    {
        IReadOnlyList<SessionStatus> sessions = state.RecordExists
            ? [.. state.State.Sessions.AsEnumerable().Reverse().Select(s => SessionStatusProjection.Of(StreamId, s, _live, localSilo.SiloAddress))]
            : [];
        return Task.FromResult(sessions);
    }

    public Task<ArchiveRead> ReadArchiveAsync(string sessionId, long offset, int maxBytes)
    {
        var record = state.RecordExists ? state.State.Sessions.Find(s => s.Id == sessionId) : null;
        return ArchiveReader.ReadAsync(record is { HasArchive: true } ? DataLayout.ArchivePath(services.DataPath, sessionId) : null, offset, maxBytes);
    }

    public async Task WakeAsync() => await TryRestoreAsync();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The failover records are the provider's own "live" and "init" states of this grain (see DirectPersistentState).
        var grainId = this.GetGrainId();
        _failover = new FailoverStore(
            new DirectPersistentState<LiveRecord>(failoverStorage, "live", grainId),
            new DirectPersistentState<InitRecord>(failoverStorage, "init", grainId));
        await _failover.ReadAsync();
        _toRestore = state.RecordExists ? SessionHistory.FindToRestore(state.State, Failover.SessionId, services.Time.GetUtcNow()) : null;
        if (_toRestore is not null)
        {
            // Its silo went away or handed it off with the session live: pick it up here once the lease is ours.
            StartMaintenance();
        }
        else if (state.RecordExists && SessionHistory.ForgetExpired(services, state.State) > 0)
        {
            // A stream nobody publishes to any more still sheds its ended sessions once they pass retention.
            await state.WriteStateAsync(cancellationToken);
        }

        await base.OnActivateAsync(cancellationToken);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unstoredEnd is not null)
        {
            await _unstoredEnd.StoreEndAsync();
        }

        if (_live is not { } live)
        {
            return;
        }

        switch (reason.ReasonCode)
        {
            case DeactivationReasonCode.DuplicateActivation:
                // Another activation owns the stream: it read the same stored state and picks the session up.
                await live.CloseAsync(SessionClose.Lost, reason.Description, CloseCodes.GatewayRestarting, publisherReason: null);
                break;
            case DeactivationReasonCode.ShuttingDown when placement.ThisSiloIsStopping() && !placement.AnotherSiloIsActive():
                // Nowhere to go (the embedded single silo stopping): end the session and finalise its outputs.
                await live.CloseAsync(SessionClose.End, "grain deactivated", CloseCodes.GatewayRestarting, publisherReason: null);
                break;
            default:
                // A rolling deploy, or any other deactivation: the session moves on, to another silo when this one is
                // stopping, with its committed bytes, its epoch and its publisher's connection.
                await live.CloseAsync(SessionClose.HandOff, reason.Description, CloseCodes.GatewayRestarting, publisherReason: null);
                this.AsReference<IStreamGrain>().WakeAsync().Ignore();
                break;
        }
    }

    async Task ISessionHost.SaveStreamAsync() => await state.WriteStateAsync();

    async Task ISessionHost.ReloadStreamAsync() => await state.ReadStateAsync();

    IGrainTimer ISessionHost.StartTimer(Func<CancellationToken, Task> tick, TimeSpan interval) =>
        this.RegisterGrainTimer(tick, new GrainTimerCreationOptions(interval, interval) { KeepAlive = true });

    public void Emit(string type, string sessionId, string? reason = null, int? closeCode = null, string? output = null) =>
        sessionEvents.Publish(
            SessionEvent.Create(type, services.Time.GetUtcNow(), StreamId, sessionId, reason, closeCode, output),
            state.RecordExists ? state.State.Webhook : null);

    void ISessionHost.Closed(LiveSession session, SessionClose how, bool durable)
    {
        if (ReferenceEquals(_live, session))
        {
            _live = null;
        }

        if (how is SessionClose.End or SessionClose.Fail)
        {
            // The rotated-away keys belonged to the session that ended: they stop leading anywhere.
            StreamKeys.ForgetRetiredLater(Directory, StreamId, state.State, logger);
        }

        if (!durable)
        {
            // The end must be stored, or the next activation would continue the session: retried until it is.
            _unstoredEnd = session;
            StartMaintenance();
        }

        if (how == SessionClose.Lost)
        {
            DeactivateOnIdle();
        }
    }

    private IStreamDirectoryGrain Directory => GrainFactory.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey);

    /// <summary>True when nothing waits to be restored, or the restore is done: the live session (if any) is here.</summary>
    private async ValueTask<bool> TryRestoreAsync()
    {
        if (_toRestore is not { } sessionId)
        {
            return true;
        }

        var (live, retry) = await LiveSession.RestoreAsync(services, this, Failover, sessionId);
        if (live is null && retry)
        {
            return false;
        }

        _live = live;
        _toRestore = null;
        if (live is not null)
        {
            await state.WriteStateAsync();
        }

        return true;
    }

    /// <summary>The grain's own timer: a pending restore, an end still to be stored. Stops itself when neither is left.</summary>
    private void StartMaintenance() =>
        _maintenance ??= this.RegisterGrainTimer(
            OnMaintenanceAsync,
            new GrainTimerCreationOptions(services.Session.TickInterval, services.Session.TickInterval) { KeepAlive = true });

    private async Task OnMaintenanceAsync(CancellationToken cancellationToken)
    {
        await TryRestoreAsync();
        if (_unstoredEnd is { } ended && (_live is not null || await ended.StoreEndAsync()))
        {
            // Stored, or a newer session's record has replaced it.
            _unstoredEnd = null;
        }

        if (_toRestore is null && _unstoredEnd is null)
        {
            _maintenance?.Dispose();
            _maintenance = null;
        }
    }
}

using System.Security.Cryptography;
using LiveStream.Capacity;
using LiveStream.Ingest;
using LiveStream.Leases;
using LiveStream.Media;
using LiveStream.Media.Containers;
using LiveStream.Options;
using LiveStream.Sessions;
using LiveStream.Storage;
using LiveStream.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Placement;

namespace LiveStream.Streams;

/// <summary>
/// The one grain of a stream. A grain turn only commits bytes (archive + bounded buffer); the FFmpeg pump drains
/// the buffer outside any turn, so control calls never wait behind a stalled FFmpeg.
/// </summary>
[GrainType("livestream.stream")]
[CapacityPlacement]
internal sealed partial class StreamGrain(
    [PersistentState("stream", StorageNames.LiveStream)] IPersistentState<StreamRecord> state,
    [PersistentState("live", StorageNames.Failover)] IPersistentState<LiveRecord> liveState,
    IMediaProcessRunner runner,
    MediaProcessSupervisor supervisor,
    SimulcastContext simulcast,
    IOptions<LiveStreamOptions> liveStreamOptions,
    IOptions<SessionOptions> sessionOptions,
    IOptions<LeaseOptions> leaseOptions,
    IOptions<RetentionOptions> retentionOptions,
    ILeaseStore leases,
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime,
    LiveStreamInstruments instruments,
    SiloCapacity capacity,
    ClusterCapacityView clusterCapacity,
    Webhooks.ISessionEvents sessionEvents,
    TimeProvider time,
    ILogger<StreamGrain> logger) : Grain, IStreamGrain
{
    private const int MaxArchiveRead = 1024 * 1024;

    // FFmpeg's last lines in the session's health (the silo keeps Ffmpeg:StderrTailLines of them).
    private const int HealthTailLines = 20;

    private LiveSession? _live;
    private IGrainTimer? _tick;
    private SessionRecord? _toRestore;
    private Task? _liveWrite;
    private bool _liveStateDirty;

    private string StreamId => this.GetPrimaryKeyString();

    private string DataPath => liveStreamOptions.Value.FullDataPath;

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
            CreatedAt = time.GetUtcNow(),
            Webhook = command.Webhook,
        };
        await state.WriteStateAsync();
        return ToInfo();
    }

    public Task<StreamInfo?> GetAsync() => Task.FromResult(state.RecordExists ? ToInfo() : null);

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
        return ToInfo();
    }

    public async Task<bool> RotateKeyAsync(byte[] newKeyHash)
    {
        if (!state.RecordExists)
        {
            return false;
        }

        var record = state.State;
        var directory = GrainFactory.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey);
        await directory.AddKeyAsync(StreamId, newKeyHash);
        var liveId = _live?.Record.Id ?? _toRestore?.Id;
        if (liveId is null || liveId != record.RetiredKeysSessionId)
        {
            await ForgetRetiredKeysAsync();
        }

        if (liveId is not null)
        {
            record.RetiredKeyHashes.Add(record.KeyHash);
            record.RetiredKeysSessionId = liveId;
        }
        else
        {
            await directory.RemoveKeyAsync(StreamId, record.KeyHash);
        }

        record.KeyHash = newKeyHash;
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

        if (_toRestore is not null)
        {
            await TryRestoreAsync();
        }

        if (_live is not null)
        {
            NotifyPublisher(_live, CloseCodes.EndedByOperator, "stream deleted");
            await EndSessionAsync(SessionState.Ended, "stream deleted", CloseCodes.EndedByOperator);
        }

        _toRestore = null;
        await GrainFactory.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey).RemoveAsync(StreamId);
        await state.ClearStateAsync();
        await liveState.ClearStateAsync();
        LogStreamDeleted(logger, StreamId);
        DeactivateOnIdle();
        return true;
    }

    public async Task<SessionStatus?> StopSessionAsync(string sessionId)
    {
        if (_toRestore?.Id == sessionId)
        {
            await TryRestoreAsync();
        }

        if (_live?.Record.Id == sessionId)
        {
            NotifyPublisher(_live, CloseCodes.EndedByOperator, "session stopped by the operator");
            await EndSessionAsync(SessionState.Ended, "stopped by the operator", CloseCodes.EndedByOperator);
        }

        return await GetSessionAsync(sessionId);
    }

    private KeyMatch MatchKey(byte[] keyHash)
    {
        if (!state.RecordExists)
        {
            return KeyMatch.None;
        }

        if (CryptographicOperations.FixedTimeEquals(keyHash, state.State.KeyHash))
        {
            return KeyMatch.Current;
        }

        // Every retired hash is compared, so the time taken does not tell which one matched.
        var retired = false;
        foreach (var old in state.State.RetiredKeyHashes)
        {
            retired |= CryptographicOperations.FixedTimeEquals(keyHash, old);
        }

        return retired ? KeyMatch.Retired : KeyMatch.None;
    }

    /// <summary>The session the rotated-away keys belonged to is over: they stop leading anywhere.</summary>
    private async Task ForgetRetiredKeysAsync()
    {
        var record = state.State;
        if (record.RetiredKeyHashes.Count == 0)
        {
            return;
        }

        var directory = GrainFactory.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey);
        foreach (var old in record.RetiredKeyHashes)
        {
            await directory.RemoveKeyAsync(StreamId, old);
        }

        record.RetiredKeyHashes.Clear();
        record.RetiredKeysSessionId = null;
    }

    public async Task<ConnectResult> ConnectAsync(ConnectRequest request)
    {
        var keyMatch = MatchKey(request.KeyHash);
        if (keyMatch == KeyMatch.None)
        {
            return ConnectResult.Refused(CloseCodes.UnknownKey, "unknown stream key");
        }

        if (_toRestore is not null && !await TryRestoreAsync())
        {
            return ConnectResult.Refused(CloseCodes.ClusterUnavailable, "stream is still running elsewhere; retry shortly");
        }

        // After a restore, which reads the state again.
        var record = state.State;
        if (keyMatch == KeyMatch.Retired && (_live is null || _live.Record.Id != record.RetiredKeysSessionId))
        {
            // A rotated-away key only lets the publisher of the session live at rotation come back to it.
            return ConnectResult.Refused(CloseCodes.UnknownKey, "unknown stream key");
        }

        if (_live is not null)
        {
            if (record.Settings.DuplicatePolicy == DuplicatePolicy.Reject && _live.Record.State == SessionState.Active)
            {
                LogRejected(logger, _live.Record.Id);
                return ConnectResult.Refused(CloseCodes.AlreadyLive, "stream already has a live publisher");
            }

            if (_live.Record.State == SessionState.Active)
            {
                // Takeover: the newer connection wins; the older one is told to close and its epoch is fenced off.
                _live.Record.SupersededPublishers++;
                instruments.PublishersSuperseded.Add(1);
                LogSuperseded(logger, _live.Record.Id, _live.Record.ConnectionEpoch);
                NotifyPublisher(_live, CloseCodes.Superseded, "superseded by a newer publisher");
            }
            else
            {
                _live.Record.Reconnects++;
                instruments.Reconnects.Add(1);
                LogResumed(logger, _live.Record.Id, _live.Committed);
                Emit(Webhooks.SessionEventTypes.Reconnected, _live.Record.Id);
            }

            _live.Record.State = SessionState.Active;
            _live.Record.DisconnectedAt = null;
            _live.Pipeline.NewConnection();
            _live.Record.ConnectionEpoch = ++record.LastEpoch;
            _live.Observer = request.Observer;
            await state.WriteStateAsync();
            return Accepted(_live, record.Settings);
        }

        var cost = SessionCost.Reserve(record.Outputs);
        if (!capacity.TryAdmit(StreamId, cost))
        {
            return RefuseForCapacity(cost);
        }

        LiveSession? live;
        try
        {
            live = await StartSessionAsync(record);
        }
        catch
        {
            capacity.Release(StreamId);
            throw;
        }

        if (live is null)
        {
            capacity.Release(StreamId);
            return ConnectResult.Refused(CloseCodes.ClusterUnavailable, "stream is still running elsewhere; retry shortly");
        }

        live.Observer = request.Observer;
        liveState.State = new LiveRecord { SessionId = live.Record.Id };
        await state.WriteStateAsync();
        await liveState.WriteStateAsync();
        return Accepted(live, record.Settings);
    }

    public async Task<WriteResult> WriteAsync(ChunkWrite write)
    {
        if (_toRestore is not null && !await TryRestoreAsync())
        {
            // Failover in progress: the sender waits (its socket is not read) until this silo owns the stream.
            return new WriteResult(WriteOutcome.BufferFull, liveState.State.Committed);
        }

        if (_live is null || write.Epoch != _live.Record.ConnectionEpoch)
        {
            return Closed(write.Epoch);
        }

        if (_live.Record.State == SessionState.Disconnected)
        {
            // The current epoch's publisher is writing: its connection outlived a failover or a hand-off.
            _live.Record.State = SessionState.Active;
            _live.Record.DisconnectedAt = null;
        }

        var committed = _live.Committed;
        if (write.Offset > committed)
        {
            return new WriteResult(WriteOutcome.Gap, committed, CloseCodes.ProtocolViolation, $"gap: expected offset {committed}, got {write.Offset}");
        }

        // Overlap with committed bytes is trimmed: a resend is harmless.
        var skip = committed - write.Offset;
        if (skip >= write.Data.Length)
        {
            return new WriteResult(WriteOutcome.Committed, committed);
        }

        var data = write.Data[(int)skip..];
        if (!_live.Pipeline.HasRoomFor(data.Length))
        {
            return new WriteResult(WriteOutcome.BufferFull, committed);
        }

        try
        {
            await _live.Pipeline.StartPendingProcessAsync();
            await _live.Pipeline.CommitAsync(data, time.GetUtcNow().ToUnixTimeMilliseconds(), CancellationToken.None);
        }
        catch (MediaFormatException ex)
        {
            // Bad media ends this session only: its FFmpeg stops, nothing else is disturbed.
            LogBadMedia(logger, _live.Record.Id, ex.Message);
            var reason = "unsupported media: " + ex.Message;
            await EndSessionAsync(SessionState.Failed, reason, CloseCodes.UnsupportedMedia);
            return new WriteResult(WriteOutcome.Closed, committed, CloseCodes.UnsupportedMedia, reason);
        }
        catch (IOException ex)
        {
            // A full disk (or a failing one) ends the session that cannot write; the bytes were not acknowledged.
            var reason = "cannot write to disk: " + ex.Message;
            LogDiskFailed(logger, _live.Record.Id, reason);
            await EndSessionAsync(SessionState.Failed, reason, CloseCodes.SessionFailed);
            return new WriteResult(WriteOutcome.Closed, committed, CloseCodes.SessionFailed, reason);
        }

        _live.Committed += data.Length;
        _live.Record.BytesIngested = _live.Committed;
        if (!ReferenceEquals(_live.CostedTracks, _live.Pipeline.Tracks) && _live.Pipeline.Tracks.Count > 0)
        {
            // The recording's header is known (or a new recording began): the session costs what its media costs.
            _live.CostedTracks = _live.Pipeline.Tracks;
            capacity.Update(StreamId, SessionCost.Of(state.State.Outputs, _live.CostedTracks));
        }

        _live.Rate.Commit(_live.Committed);

        // Durable before it is acknowledged: another silo resumes exactly here if this one dies.
        liveState.State.SessionId = _live.Record.Id;
        liveState.State.Committed = _live.Committed;
        liveState.State.InitSegment = _live.Pipeline.InitSegment;
        await PersistLiveStateAsync();
        instruments.IngestBytes.Add(data.Length);
        instruments.IngestChunks.Add(1);
        return new WriteResult(WriteOutcome.Committed, _live.Committed);
    }

    public async Task DisconnectAsync(int epoch, DisconnectKind kind, int closeCode)
    {
        if (_live is null || epoch != _live.Record.ConnectionEpoch || _live.Record.State != SessionState.Active)
        {
            return;
        }

        var window = state.State.Settings.ReconnectWindowSeconds;
        if (kind == DisconnectKind.End || window == 0)
        {
            await EndSessionAsync(SessionState.Ended, kind == DisconnectKind.End ? "publisher ended" : "publisher disconnected", closeCode);
            return;
        }

        // Anything but a deliberate end opens the reconnect window; FFmpeg keeps running, waiting on stdin.
        _live.Record.State = SessionState.Disconnected;
        _live.Record.DisconnectedAt = time.GetUtcNow();
        _live.Observer = null;
        await state.WriteStateAsync();
        LogDisconnected(logger, _live.Record.Id, closeCode, window);
        Emit(Webhooks.SessionEventTypes.Disconnected, _live.Record.Id, closeCode: closeCode);
    }

    public Task<SessionStatus?> GetSessionAsync(string sessionId)
    {
        var record = state.RecordExists ? state.State.Sessions.Find(s => s.Id == sessionId) : null;
        return Task.FromResult(record is null ? null : ToStatus(record));
    }

    public Task<IReadOnlyList<SessionStatus>> ListSessionsAsync()
    {
        IReadOnlyList<SessionStatus> sessions = state.RecordExists
            ? [.. state.State.Sessions.AsEnumerable().Reverse().Select(ToStatus)]
            : [];
        return Task.FromResult(sessions);
    }

    public async Task<ArchiveRead> ReadArchiveAsync(string sessionId, long offset, int maxBytes)
    {
        var record = state.RecordExists ? state.State.Sessions.Find(s => s.Id == sessionId) : null;
        var path = SessionPipeline.ArchivePath(DataPath, sessionId);
        if (record is not { HasArchive: true } || !File.Exists(path))
        {
            return new ArchiveRead(false, 0, []);
        }

        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
        var length = file.Length;
        if (offset < 0 || offset >= length)
        {
            return new ArchiveRead(true, length, []);
        }

        var buffer = new byte[(int)Math.Min(Math.Clamp(maxBytes, 1, MaxArchiveRead), length - offset)];
        file.Position = offset;
        await file.ReadExactlyAsync(buffer);
        return new ArchiveRead(true, length, buffer);
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _toRestore = FindSessionToRestore();
        if (_toRestore is not null)
        {
            // Its silo went away or handed it off with the session live: pick it up here once the lease is ours.
            StartTick();
        }
        else if (state.RecordExists && ForgetExpiredSessions(state.State) > 0)
        {
            // A stream nobody publishes to any more still sheds its ended sessions once they pass retention.
            await state.WriteStateAsync(cancellationToken);
        }

        await base.OnActivateAsync(cancellationToken);
    }

    /// <summary>Removes the records of sessions that ended longer than <c>Retention:Days</c> ago; their files go with the silo's sweeper.</summary>
    private int ForgetExpiredSessions(StreamRecord record)
    {
        if (retentionOptions.Value.Days <= 0)
        {
            return 0;
        }

        var cutoff = time.GetUtcNow() - TimeSpan.FromDays(retentionOptions.Value.Days);
        return record.Sessions.RemoveAll(s => s.EndedAt is { } ended && ended < cutoff);
    }

    /// <summary>
    /// The live session whose failover state is stored, or null. Any other session stored as live was cut short
    /// when its silo went away before it could be handed on; it is marked failed (in memory, written with the next
    /// change).
    /// </summary>
    private SessionRecord? FindSessionToRestore()
    {
        SessionRecord? found = null;
        foreach (var session in state.RecordExists ? state.State.Sessions.Where(s => s.IsLive) : [])
        {
            if (session.Id == liveState.State.SessionId)
            {
                found = session;
                continue;
            }

            session.State = SessionState.Failed;
            session.EndReason = "interrupted: the silo running it went away";
            session.EndedAt ??= time.GetUtcNow();
            session.FfmpegPid = null;
        }

        return found;
    }

    /// <summary>
    /// Continues the session another silo ran: same session, same epoch, committed offset and init segment from
    /// storage; FFmpeg restarts at the next keyframe. False while the lease still belongs to a holder that is not
    /// known to be dead, or the store cannot be read (then writes wait: back-pressure, not loss).
    /// </summary>
    private async Task<bool> TryRestoreAsync()
    {
        if (_toRestore is null)
        {
            return _live is not null;
        }

        var lease = new StreamLease(leases, membership, leaseOptions.Value, time, StreamId, StreamLease.HolderId(localSilo.SiloAddress, _toRestore.Id));
        try
        {
            if (!await lease.AcquireAsync(CancellationToken.None))
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            LogLeaseStoreUnavailable(logger, ex, StreamId);
            return false;
        }

        try
        {
            // A silo handing the session off writes its last state before it lets the lease go: read it now, not as
            // it was when this activation started (which may have been while the other was still stopping).
            await state.ReadStateAsync();
            await liveState.ReadStateAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogLiveStateNotDurable(logger, ex, _toRestore.Id);
            await lease.ReleaseAsync(CancellationToken.None);
            return false;
        }

        if (FindSessionToRestore() is not { } record)
        {
            // Ended meanwhile: nothing to pick up.
            _toRestore = null;
            await lease.ReleaseAsync(CancellationToken.None);
            return false;
        }

        var committed = liveState.State.Committed;
        var outputs = state.State.Outputs;
        var spec = new MediaProcessSpec(record.Id, outputs, SessionPipeline.HlsDirectory(DataPath, record.Id));
        var pipeline = SessionPipeline.Start(
            spec,
            record.HasArchive ? SessionPipeline.ArchivePath(DataPath, record.Id) : null,
            sessionOptions.Value.BufferBytes,
            runner,
            supervisor,
            sessionOptions.Value.MaxFfmpegRestarts,
            resumeAt: committed,
            simulcast: simulcast,
            instruments: instruments);
        pipeline.Resume(liveState.State.InitSegment, committed);
        record.BytesIngested = committed;
        record.LeaseToken = lease.Current!.Token;
        if (record.State == SessionState.Active)
        {
            // Its publisher may be gone with the old silo's gateway connection: the reconnect window runs from
            // now, and the publisher's next chunk on the current epoch shows it is still there.
            record.State = SessionState.Disconnected;
            record.DisconnectedAt = time.GetUtcNow();
        }

        _live = new LiveSession(record, pipeline, lease, time) { Committed = committed };
        _live.Tracking = instruments.TrackSession(() => record.State);
        _toRestore = null;

        // A session that moves here is never refused: it was admitted once, and its publisher is already live.
        capacity.Update(StreamId, SessionCost.Of(outputs, pipeline.Tracks.Count > 0 ? pipeline.Tracks : null));
        _live.CostedTracks = pipeline.Tracks;
        await state.WriteStateAsync();
        LogRestored(logger, record.Id, committed);
        return true;
    }

    public async Task WakeAsync()
    {
        if (_toRestore is not null)
        {
            await TryRestoreAsync();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_live is null)
        {
            return;
        }

        switch (reason.ReasonCode)
        {
            case DeactivationReasonCode.DuplicateActivation:
                // Another activation of this grain owns the stream: it read the same stored state and picks the
                // session up. This one kills its FFmpeg and writes nothing.
                LogLeavingToDuplicate(logger, _live.Record.Id);
                await LeaveSessionAsync(persist: false, cancellationToken);
                break;
            case DeactivationReasonCode.ShuttingDown when ThisSiloIsStopping() && !AnotherSiloIsActive():
                // Nowhere to go (the embedded single silo stopping): end the session and finalise its outputs.
                // ShuttingDown also deactivates grains whose directory entry lived on another silo that is stopping;
                // those hand off (to this silo).
                LogDeactivatingLive(logger, _live.Record.Id, reason.Description);
                await EndSessionAsync(SessionState.Ended, "grain deactivated", CloseCodes.GatewayRestarting, cancellationToken);
                break;
            default:
                // A rolling deploy, or any other deactivation (sessions end only when asked to, or when their window
                // or FFmpeg budget runs out): the session moves on, to another silo when this one is stopping, with
                // its committed bytes, its epoch and its publisher's connection (whose next chunk reaches it).
                LogHandingOff(logger, _live.Record.Id, reason.Description, _live.Committed);
                await LeaveSessionAsync(persist: true, cancellationToken);
                this.AsReference<IStreamGrain>().WakeAsync().Ignore();
                break;
        }
    }

    /// <summary>True when this silo's host is stopping, or membership no longer shows it active.</summary>
    private bool ThisSiloIsStopping() =>
        lifetime.ApplicationStopping.IsCancellationRequested
        || membership.CurrentSnapshot.GetSiloStatus(localSilo.SiloAddress) is not SiloStatus.Active;

    /// <summary>True when membership knows an active silo other than this one.</summary>
    private bool AnotherSiloIsActive() =>
        membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(localSilo.SiloAddress));

    /// <summary>
    /// Gives the live session up to another activation without ending it: FFmpeg is killed, not finalised (the
    /// playlist goes on under the next owner, after a discontinuity), the failover state is written when
    /// <paramref name="persist"/> (each write bounded), and the lease is released so the next owner need not wait.
    /// </summary>
    private async Task LeaveSessionAsync(bool persist, CancellationToken cancellationToken)
    {
        var live = _live!;
        _live = null;
        _tick?.Dispose();
        _tick = null;
        await live.Pipeline.DisposeAsync();
        capacity.Release(StreamId);
        live.Tracking?.Dispose();
        if (persist)
        {
            live.Record.FfmpegPid = null;
            live.Record.FfmpegRestarts = live.Pipeline.Restarts;
            try
            {
                if (_liveWrite is { IsCompleted: false } inFlight)
                {
                    await inFlight.WaitAsync(sessionOptions.Value.LiveStateWriteTimeout, cancellationToken);
                }

                liveState.State.Committed = live.Committed;
                liveState.State.InitSegment = live.Pipeline.InitSegment;
                await liveState.WriteStateAsync(cancellationToken).WaitAsync(sessionOptions.Value.LiveStateWriteTimeout, cancellationToken);
                await state.WriteStateAsync(cancellationToken).WaitAsync(sessionOptions.Value.LiveStateWriteTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // What was acknowledged is stored already (every ack follows a write); only counters may be stale.
                LogLiveStateNotDurable(logger, ex, live.Record.Id);
            }
        }

        await live.Lease.ReleaseAsync(cancellationToken);
    }

    private async Task<LiveSession?> StartSessionAsync(StreamRecord record)
    {
        var sessionId = SessionIds.NewSessionId(StreamId);

        // One FFmpeg per stream cluster-wide, even while membership is unsettled: no lease, no FFmpeg.
        var lease = new StreamLease(leases, membership, leaseOptions.Value, time, StreamId, StreamLease.HolderId(localSilo.SiloAddress, sessionId));
        bool acquired;
        try
        {
            acquired = await lease.AcquireAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // Without the lease store nobody can prove this is the only FFmpeg: refuse, the client retries.
            LogLeaseStoreUnavailable(logger, ex, StreamId);
            return null;
        }

        if (!acquired)
        {
            LogLeaseHeldElsewhere(logger, StreamId);
            return null;
        }

        var hasHls = record.Outputs.Any(o => o.Type == OutputType.Hls);
        var hasArchive = SessionPipeline.WantsArchive(record.Outputs);
        var spec = new MediaProcessSpec(sessionId, record.Outputs, SessionPipeline.HlsDirectory(DataPath, sessionId));
        SessionPipeline pipeline;
        try
        {
            pipeline = SessionPipeline.Start(
                spec,
                hasArchive ? SessionPipeline.ArchivePath(DataPath, sessionId) : null,
                sessionOptions.Value.BufferBytes,
                runner,
                supervisor,
                sessionOptions.Value.MaxFfmpegRestarts,
                simulcast: simulcast,
                instruments: instruments);
        }
        catch
        {
            await lease.ReleaseAsync(CancellationToken.None);
            throw;
        }

        var session = new SessionRecord
        {
            Id = sessionId,
            State = SessionState.Active,
            StartedAt = time.GetUtcNow(),
            ConnectionEpoch = ++record.LastEpoch,
            HlsUrl = hasHls ? $"/hls/{sessionId}/index.m3u8" : null,
            HasArchive = hasArchive,
            LeaseToken = lease.Current!.Token,
        };
        record.Sessions.Add(session);
        ForgetExpiredSessions(record);

        var excess = record.Sessions.Count - sessionOptions.Value.HistoryLimit;
        if (excess > 0)
        {
            record.Sessions.RemoveRange(0, excess);
        }

        _live = new LiveSession(session, pipeline, lease, time);
        _live.Tracking = instruments.TrackSession(() => session.State);

        StartTick();
        LogSessionStarted(logger, sessionId, StreamId);
        Emit(Webhooks.SessionEventTypes.Active, sessionId);
        return _live;
    }

    /// <summary>
    /// Writes the failover state, waiting at most <c>Session:LiveStateWriteTimeout</c>. While the store is down or
    /// slow (a Redis outage) the session keeps streaming and acknowledging: no other silo could take it over then
    /// anyway (it could not get the lease); the tick writes the latest state once the store answers again.
    /// </summary>
    private async Task PersistLiveStateAsync()
    {
        if (_liveWrite is { IsCompleted: false })
        {
            _liveStateDirty = true;
            return;
        }

        _liveWrite = liveState.WriteStateAsync();
        try
        {
            await _liveWrite.WaitAsync(sessionOptions.Value.LiveStateWriteTimeout);
            _liveStateDirty = false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (!_liveStateDirty)
            {
                LogLiveStateNotDurable(logger, ex, liveState.State.SessionId ?? "");
            }

            _liveStateDirty = true;
        }
    }

    private void StartTick() =>
        _tick ??= this.RegisterGrainTimer(
            OnTickAsync,
            new GrainTimerCreationOptions(sessionOptions.Value.TickInterval, sessionOptions.Value.TickInterval) { KeepAlive = true });

    private async Task OnTickAsync(CancellationToken _)
    {
        if (_toRestore is not null)
        {
            await TryRestoreAsync();
            return;
        }

        if (_live is not null)
        {
            RecordSessionSamples(_live);
            await _live.Pipeline.StartPendingProcessAsync();
            if (_liveStateDirty)
            {
                await PersistLiveStateAsync();
            }
        }

        if (_live is not null && !await _live.Lease.KeepAsync(CancellationToken.None))
        {
            await LoseSessionAsync();
            return;
        }

        if (_live is not null && await OverQuotaAsync(_live))
        {
            return;
        }

        if (_live?.Pipeline.Process is { Exited.IsCompleted: true } process)
        {
            var exitCode = await process.Exited;
            if (_live.RestartDueAt is null)
            {
                LogFfmpegDied(logger, _live.Record.Id, process.Id, exitCode);
                instruments.OutputFailures.Add(1, new KeyValuePair<string, object?>("output", "ffmpeg"));
                EmitOutputFailed(_live.Record.Id, "ffmpeg", $"ffmpeg exited with code {exitCode}");
                _live.Record.FfmpegLastError = process.StderrTail.LastOrDefault(l => l.Length > 0) ?? $"exited with code {exitCode}";

                // Back off: the first restart is at once, then 1 s, 2 s, 4 s ... (at most 10 s) after each death.
                var restarts = _live.Pipeline.Restarts;
                var backoff = restarts == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(10, Math.Pow(2, restarts - 1)));
                _live.RestartDueAt = time.GetUtcNow() + backoff;
            }

            if (_live.Pipeline.Restarts < sessionOptions.Value.MaxFfmpegRestarts)
            {
                if (time.GetUtcNow() >= _live.RestartDueAt)
                {
                    // A new FFmpeg gets the init segment and the stream from the next keyframe; outputs continue.
                    _live.RestartDueAt = null;
                    instruments.FfmpegRestarts.Add(1, new KeyValuePair<string, object?>("reason", "exited"));
                    await _live.Pipeline.RestartProcessAsync();
                    _live.Record.FfmpegRestarts = _live.Pipeline.Restarts;
                }

                return;
            }

            NotifyPublisher(_live, CloseCodes.SessionFailed, "session failed");
            // The stop is bounded by its own timeouts; the timer's token must not cut a graceful finalisation short.
            await EndSessionAsync(SessionState.Failed, $"ffmpeg exited with code {exitCode}", CloseCodes.SessionFailed);
            return;
        }

        if (_live?.Record is { State: SessionState.Disconnected, DisconnectedAt: { } since }
            && time.GetUtcNow() - since >= TimeSpan.FromSeconds(state.State.Settings.ReconnectWindowSeconds))
        {
            await EndSessionAsync(SessionState.Ended, "reconnect window expired", CloseCodes.Normal);
        }
    }

    /// <summary>
    /// Measures the stream's disk use every <c>Retention:QuotaCheckInterval</c>; over <c>StreamQuotaBytes</c> the
    /// live session fails with 4500, cleanly (FFmpeg finalises what it has). True when it ended the session.
    /// </summary>
    private async Task<bool> OverQuotaAsync(LiveSession live)
    {
        var retention = retentionOptions.Value;
        var now = time.GetUtcNow();
        if (retention.StreamQuotaBytes <= 0 || now < live.NextQuotaCheck)
        {
            return false;
        }

        live.NextQuotaCheck = now + retention.QuotaCheckInterval;
        live.PriorBytes ??= SessionFiles.BytesOf(DataPath, state.State.Sessions.Where(s => s.Id != live.Record.Id).Select(s => s.Id));
        var used = live.PriorBytes.Value + SessionFiles.BytesOf(DataPath, [live.Record.Id]);
        if (used <= retention.StreamQuotaBytes)
        {
            return false;
        }

        var reason = $"disk quota exceeded: the stream's files take {used} bytes, its quota is {retention.StreamQuotaBytes}";
        LogDiskFailed(logger, live.Record.Id, reason);
        NotifyPublisher(live, CloseCodes.SessionFailed, "disk quota exceeded");
        await EndSessionAsync(SessionState.Failed, reason, CloseCodes.SessionFailed);
        return true;
    }

    /// <summary>
    /// The lease is gone: another activation owns the stream now (or will). FFmpeg is killed, not finalised (the
    /// outputs belong to the new owner), the publisher is told to reconnect, and nothing is written to storage.
    /// </summary>
    private async Task LoseSessionAsync()
    {
        var live = _live!;
        _live = null;
        _tick?.Dispose();
        _tick = null;
        LogLeaseLost(logger, live.Record.Id);
        NotifyPublisher(live, CloseCodes.GatewayRestarting, "session moved; reconnect");
        await live.Pipeline.DisposeAsync();
        capacity.Release(StreamId);
        live.Tracking?.Dispose();

        DeactivateOnIdle();
    }

    private void NotifyPublisher(LiveSession live, int closeCode, string reason)
    {
        if (live.Observer is { } observer)
        {
            live.Observer = null;
            _ = observer.CloseAsync(live.Record.ConnectionEpoch, closeCode, reason);
        }
    }

    private async Task EndSessionAsync(SessionState endState, string reason, int closeCode, CancellationToken cancellationToken = default)
    {
        var live = _live!;
        _live = null;
        _tick?.Dispose();
        _tick = null;

        // The stop runs outside the turn; the turn waits only a bounded while, so `end` answers even when FFmpeg is stalled.
        var renewEvery = leaseOptions.Value.RenewInterval;
        var stopping = supervisor.RunDetached(async () =>
        {
            // The lease is kept (renewed) until FFmpeg is gone: only then may another session start one.
            var stop = live.Pipeline.StopAsync(CancellationToken.None);
            while (!stop.IsCompleted)
            {
                await Task.WhenAny(stop, Task.Delay(renewEvery));
                await live.Lease.KeepAsync(CancellationToken.None);
            }

            await stop;
            await live.Lease.ReleaseAsync(CancellationToken.None);
        });
        try
        {
            await stopping.WaitAsync(sessionOptions.Value.EndWait, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            LogStillStopping(logger, live.Record.Id);
        }

        live.Record.State = endState;
        live.Record.FfmpegRestarts = live.Pipeline.Restarts;
        live.Record.EndedAt = time.GetUtcNow();
        live.Record.EndReason = reason;
        live.Record.CloseCode = closeCode;
        live.Record.FfmpegPid = null;
        capacity.Release(StreamId);
        live.Tracking?.Dispose();

        try
        {
            await ForgetRetiredKeysAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The keys are refused here anyway (no session of theirs is live); the directory entry is only a lookup.
            LogRetiredKeysNotRemoved(logger, ex, StreamId);
        }

        await state.WriteStateAsync(cancellationToken);
        liveState.State = new LiveRecord();
        await liveState.WriteStateAsync(cancellationToken);
        LogSessionEnded(logger, live.Record.Id, endState, reason, live.Committed);
        Emit(endState == SessionState.Failed ? Webhooks.SessionEventTypes.Failed : Webhooks.SessionEventTypes.Ended, live.Record.Id, reason, closeCode);
    }

    private WriteResult Closed(int epoch)
    {
        if (_live is not null && epoch < _live.Record.ConnectionEpoch)
        {
            return new WriteResult(WriteOutcome.Closed, _live.Committed, CloseCodes.Superseded, "superseded by a newer publisher");
        }

        if (!state.RecordExists)
        {
            return new WriteResult(WriteOutcome.Closed, 0, CloseCodes.EndedByOperator, "stream deleted");
        }

        var ended = state.State.Sessions.FindLast(s => s.ConnectionEpoch >= epoch);
        return ended switch
        {
            { CloseCode: CloseCodes.EndedByOperator } => new WriteResult(WriteOutcome.Closed, ended.BytesIngested, CloseCodes.EndedByOperator, ended.EndReason ?? "stopped by the operator"),
            { State: SessionState.Failed } => new WriteResult(WriteOutcome.Closed, ended.BytesIngested, CloseCodes.SessionFailed, ended.EndReason ?? "session failed"),
            { ConnectionEpoch: var e } when e > epoch => new WriteResult(WriteOutcome.Closed, 0, CloseCodes.Superseded, "superseded by a newer publisher"),
            _ => new WriteResult(WriteOutcome.Closed, ended?.BytesIngested ?? 0, CloseCodes.Normal, "session ended"),
        };
    }

    /// <summary>
    /// No room on this silo for a session of <paramref name="cost"/> units. When another active silo reported room,
    /// this activation migrates to the silo with the most and names it, and the gateway's retry follows it there;
    /// otherwise the cluster is full.
    /// </summary>
    private ConnectResult RefuseForCapacity(int cost)
    {
        var snapshot = membership.CurrentSnapshot;
        var here = localSilo.SiloAddress.ToParsableString();
        var elsewhere = clusterCapacity.Loads.Values
            .Where(l => l.FreeUnits >= cost && l.Silo != here && snapshot.GetSiloStatus(SiloAddress.FromParsableString(l.Silo)) == SiloStatus.Active)
            .MaxBy(l => l.FreeUnits);
        if (elsewhere is not null)
        {
            // Migration (not a plain deactivation) moves the directory entry too, so callers that cached this
            // address follow it; the hint is captured with the request context and guides the placement director.
            LogNoRoomHere(logger, StreamId, cost, capacity.UsedUnits, capacity.CapacityUnits);
            RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(elsewhere.Silo));
            try
            {
                this.MigrateOnIdle();
            }
            finally
            {
                RequestContext.Remove(IPlacementDirector.PlacementHintKey);
            }

            return ConnectResult.NoRoomHere(elsewhere.Silo);
        }

        LogClusterFull(logger, StreamId, cost, capacity.UsedUnits, capacity.CapacityUnits);
        return ConnectResult.Refused(CloseCodes.ClusterUnavailable, "cluster at capacity; retry later");
    }

    private static ConnectResult Accepted(LiveSession live, StreamSettings settings) => new(
        true, 0, null, live.Record.Id, live.Record.ConnectionEpoch, live.Committed,
        settings.ReconnectWindowSeconds, live.Record.HlsUrl);

    private StreamInfo ToInfo()
    {
        var record = state.State;
        var current = _live?.Record;
        var streamState = current?.State switch
        {
            SessionState.Active => StreamState.Live,
            SessionState.Disconnected => StreamState.Disconnected,
            _ => StreamState.Idle,
        };
        return new StreamInfo(StreamId, record.Name, [.. record.Outputs], record.Settings, streamState, current?.Id, record.CreatedAt, record.Webhook is { } webhook ? Webhooks.WebhookUrls.Redact(webhook.Url) : null);
    }

    private SessionStatus ToStatus(SessionRecord record)
    {
        var live = _live?.Record == record ? _live : null;
        return new SessionStatus(
            record.Id,
            StreamId,
            record.State,
            record.StartedAt,
            record.EndedAt,
            record.ConnectionEpoch,
            record.Reconnects,
            live?.Committed ?? record.BytesIngested,
            new FfmpegStatus(live?.Pipeline.Process?.Id, live?.Pipeline.Restarts ?? record.FfmpegRestarts, record.FfmpegLastError),
            record.SupersededPublishers,
            record.DisconnectedAt,
            live?.Pipeline.BufferedBytes ?? 0,
            record.EndReason,
            record.HlsUrl,
            record.HasArchive,
            live is null ? null : VideoOf(live.Pipeline),
            live?.Pipeline.Tracks.FirstOrDefault(t => t.Kind == TrackKind.Audio) is { } audio ? new AudioStatus(audio.Codec) : null,
            live is null ? null : WarningsOf(live.Pipeline),
            live is null ? null : localSilo.SiloAddress.ToParsableString(),
            live?.Pipeline.OutputStatuses(record.FfmpegLastError),
            live is null ? null : HealthOf(live));
    }

    /// <summary>The live session's health: FFmpeg's progress (when it reports any), the ingest bitrate, FFmpeg's last lines.</summary>
    private static SessionHealth HealthOf(LiveSession live)
    {
        var progress = live.Pipeline.Process?.Progress;
        var tail = live.Pipeline.Process?.StderrTail;
        return new SessionHealth(
            progress?.Fps,
            progress?.Speed,
            progress?.DroppedFrames,
            progress?.DuplicatedFrames,
            progress?.OutputSeconds,
            live.Rate.BitsPerSecond,
            tail is null ? null : [.. tail.TakeLast(HealthTailLines).Select(SecretRedactor.Redact)]);
    }

    /// <summary>One sample per tick of each live session's figures, for the silo's histograms (no session label).</summary>
    private void RecordSessionSamples(LiveSession live)
    {
        instruments.SessionBufferedBytes.Record(live.Pipeline.BufferedBytes);
        if (live.Rate.BitsPerSecond is { } bitsPerSecond)
        {
            instruments.SessionIngestBitrate.Record(bitsPerSecond);
        }

        if (live.Pipeline.Process?.Progress?.Fps is { } fps)
        {
            instruments.SessionFps.Record(fps);
        }
    }

    private static VideoStatus? VideoOf(SessionPipeline pipeline) =>
        pipeline.Tracks.FirstOrDefault(t => t.Kind == TrackKind.Video) is { } video
            ? new VideoStatus(video.Codec, FfmpegArguments.IsPassthrough(pipeline.Tracks), pipeline.KeyframeIntervalMs)
            : null;

    private static IReadOnlyList<string> WarningsOf(SessionPipeline pipeline) =>
        FfmpegArguments.IsPassthrough(pipeline.Tracks) && pipeline.KeyframeIntervalMs > 2000
            ? [$"keyframe interval {pipeline.KeyframeIntervalMs} ms is over 2 s; platforms reject that for passed-through video (ask the recorder for videoKeyFrameIntervalDuration: 1000)"]
            : [];

    private enum KeyMatch
    {
        None,
        Current,
        Retired,
    }

    private sealed class LiveSession(SessionRecord record, SessionPipeline pipeline, StreamLease lease, TimeProvider time)
    {
        /// <summary>The committed ingest bitrate over the last seconds.</summary>
        public IngestRate Rate { get; } = new(time);

        /// <summary>Counts the session in the silo's session gauges until disposed.</summary>
        public IDisposable? Tracking { get; set; }

        public StreamLease Lease { get; } = lease;

        public SessionRecord Record { get; } = record;

        public SessionPipeline Pipeline { get; } = pipeline;

        public long Committed { get; set; }

        /// <summary>Bytes of the stream's other sessions' files, measured once per session for the quota.</summary>
        public long? PriorBytes { get; set; }

        /// <summary>When the quota is next checked.</summary>
        public DateTimeOffset NextQuotaCheck { get; set; }

        /// <summary>When a dead FFmpeg is to be started again (backoff), or null.</summary>
        public DateTimeOffset? RestartDueAt { get; set; }

        /// <summary>The tracks the session's admission cost was last computed from.</summary>
        public IReadOnlyList<TrackInfo>? CostedTracks { get; set; }

        /// <summary>The gateway side of the current publisher, told when it must close.</summary>
        public IPublisherObserver? Observer { get; set; }
    }
}

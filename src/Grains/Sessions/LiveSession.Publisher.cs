using LiveStream.Ingest;
using LiveStream.Media.Containers;
using LiveStream.Streams;
using LiveStream.Webhooks;

namespace LiveStream.Sessions;

/// <summary>The publisher's side of a live session: connections, chunk writes, disconnects.</summary>
internal sealed partial class LiveSession
{
    /// <summary>The answer a publisher gets once it is connected to this session.</summary>
    public ConnectResult Accepted() => new(
        true, 0, null, Record.Id, Record.ConnectionEpoch, Durable, _host.Stream.Settings.ReconnectWindowSeconds, Record.HlsUrl, Owner: Record.LeaseToken);

    /// <summary>
    /// A publisher connects to the live session: a reconnect within the window, or a takeover (the older publisher is
    /// told to close and its epoch is fenced off), or a refusal under policy <c>reject</c>.
    /// </summary>
    public async Task<ConnectResult> ConnectAsync(ConnectRequest request)
    {
        try
        {
            return await ConnectCoreAsync(request);
        }
        finally
        {
            Reschedule();
        }
    }

    /// <summary>
    /// Commits a chunk at its offset and acknowledges what the failover record covers. A write commits entirely
    /// (archive, router, offset) or not at all; an acknowledgement never covers a byte a failover could lose.
    /// </summary>
    public async ValueTask<WriteResult> WriteAsync(ChunkWrite write)
    {
        var result = await WriteCoreAsync(write);
        Reschedule();
        return result;
    }

    /// <summary>
    /// The connection of <paramref name="epoch"/> is served by <paramref name="observer"/>: a session picked up from
    /// its failover record knows the connection's epoch but not its observer until the gateway says.
    /// </summary>
    public void Attach(int epoch, IPublisherObserver observer)
    {
        if (!_closed && epoch == Record.ConnectionEpoch && Record.State == SessionState.Active)
        {
            Observer = observer;
        }
    }

    /// <summary>The publisher's connection ended: the session ends, or waits for it in its reconnect window.</summary>
    public async Task DisconnectAsync(int epoch, DisconnectKind kind, int closeCode)
    {
        await DisconnectCoreAsync(epoch, kind, closeCode);
        Reschedule();
    }

    private async Task<ConnectResult> ConnectCoreAsync(ConnectRequest request)
    {
        // The publisher resumes from the offset this answer names. A page that no longer holds those bytes sends a
        // new recording from there, so the offset must be where the committed bytes end: bytes committed but not yet
        // stored in the failover record would otherwise be taken for a resend and the new recording's first bytes
        // dropped in their place. Store them first; when the store refuses, the publisher retries shortly.
        if (Durable < Committed)
        {
            var stored = await AcknowledgeAsync();
            if (stored.Outcome != WriteOutcome.Committed)
            {
                return ConnectResult.Refused(
                    stored.CloseCode != 0 ? stored.CloseCode : CloseCodes.ClusterUnavailable,
                    stored.Reason ?? "session not stored yet; retry shortly");
            }
        }

        var stream = _host.Stream;
        if (Record.State == SessionState.Active)
        {
            if (stream.Settings.DuplicatePolicy == DuplicatePolicy.Reject)
            {
                LogRejected(_services.Logger, Record.Id);
                return ConnectResult.Refused(CloseCodes.AlreadyLive, "stream already has a live publisher");
            }

            Record.SupersededPublishers++;
            _services.Instruments.PublishersSuperseded.Add(1);
            LogSuperseded(_services.Logger, Record.Id, Record.ConnectionEpoch);
            NotifyPublisher(CloseCodes.Superseded, "superseded by a newer publisher");
        }
        else
        {
            Record.Reconnects++;
            _services.Instruments.Reconnects.Add(1);
            LogResumed(_services.Logger, Record.Id, Durable);
            _host.Emit(SessionEventTypes.Reconnected, Record.Id);
        }

        Record.State = SessionState.Active;
        Record.DisconnectedAt = null;
        Record.ConnectionEpoch = ++stream.LastEpoch;
        Pipeline.NewConnection();
        Observer = request.Observer;
        Heard();
        try
        {
            await _host.SaveStreamAsync();
        }
        catch
        {
            // Not stored: nobody is connected as far as the session knows, so its window runs.
            MarkDisconnected();
            throw;
        }

        return Accepted();
    }

    private async ValueTask<WriteResult> WriteCoreAsync(ChunkWrite write)
    {
        if (!_lease.IsHeld)
        {
            // The publisher is told through its connection as well: the gateway may have given up waiting for this
            // very call (a write stalled on a store that is down), and its retry would only find the grain gone.
            await CloseAsync(SessionClose.Lost, "lease lost", CloseCodes.GatewayRestarting, "session moved; reconnect");
            return new WriteResult(WriteOutcome.Closed, Durable, CloseCodes.GatewayRestarting, "session moved; reconnect");
        }

        Heard();
        if (Record.State == SessionState.Disconnected)
        {
            // The current epoch's publisher is writing: its connection outlived a failover, a hand-off or a silence.
            Record.State = SessionState.Active;
            Record.DisconnectedAt = null;
        }

        if (write.Offset > Committed)
        {
            return new WriteResult(WriteOutcome.Gap, Durable, CloseCodes.ProtocolViolation, $"gap: expected offset {Committed}, got {write.Offset}");
        }

        // Overlap with committed bytes is trimmed: a resend is harmless.
        var skip = Committed - write.Offset;
        if (skip < write.Data.Length)
        {
            // As much as the buffer has room for: the answer's committed offset tells the gateway where the rest goes.
            var data = write.Data.Memory[(int)skip..];
            var admitted = Pipeline.Admits(data.Length);
            if (admitted == 0 || !Budget.TryTake(admitted))
            {
                // FFmpeg is behind, or the session is over its ingest cap: the gateway sends the chunk again shortly.
                return new WriteResult(WriteOutcome.BufferFull, Durable, Owner: Record.LeaseToken);
            }

            data = data[..admitted];

            if (await CommitAsync(data) is { } closed)
            {
                return closed;
            }
        }

        return await AcknowledgeAsync();
    }

    private async Task DisconnectCoreAsync(int epoch, DisconnectKind kind, int closeCode)
    {
        if (epoch != Record.ConnectionEpoch || Record.State != SessionState.Active)
        {
            return;
        }

        var window = _host.Stream.Settings.ReconnectWindowSeconds;
        if (kind == DisconnectKind.End || window == 0)
        {
            await CloseAsync(SessionClose.End, kind == DisconnectKind.End ? "publisher ended" : "publisher disconnected", closeCode, publisherReason: null);
            return;
        }

        // Anything but a deliberate end opens the reconnect window; FFmpeg keeps running, waiting on stdin.
        MarkDisconnected();
        await _host.SaveStreamAsync();
        LogDisconnected(_services.Logger, Record.Id, closeCode, window);
        _host.Emit(SessionEventTypes.Disconnected, Record.Id, closeCode: closeCode);
    }

    private async ValueTask<WriteResult?> CommitAsync(ReadOnlyMemory<byte> data)
    {
        try
        {
            await Pipeline.CommitAsync(data, _services.Time.GetUtcNow().ToUnixTimeMilliseconds(), CancellationToken.None);
        }
        catch (MediaFormatException ex)
        {
            // Bad media ends this session only: its FFmpeg stops, nothing else is disturbed.
            LogBadMedia(_services.Logger, Record.Id, ex.Message);
            return await FailAsync(CloseCodes.UnsupportedMedia, "unsupported media: " + ex.Message);
        }
        catch (IOException ex)
        {
            // A full disk (or a failing one) ends the session that cannot write; the bytes were not acknowledged.
            var reason = "cannot write to disk: " + ex.Message;
            LogSessionFails(_services.Logger, Record.Id, reason);
            return await FailAsync(CloseCodes.SessionFailed, reason);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The archive was cut back; the router's state is unknown, so the session cannot go on.
            LogCommitFailed(_services.Logger, ex, Record.Id);
            return await FailAsync(CloseCodes.SessionFailed, "internal error");
        }

        Committed += data.Length;
        Record.BytesIngested = Committed;
        Rate.Commit(Committed);
        _services.Instruments.IngestBytes.Add(data.Length);
        _services.Instruments.IngestChunks.Add(1);
        if (!ReferenceEquals(_costedTracks, Pipeline.Tracks) && Pipeline.Tracks.Count > 0)
        {
            // The recording's header is known (or a new recording began): the session costs what its media costs.
            _costedTracks = Pipeline.Tracks;
            _capacity.Update(Capacity.SessionCost.Of(_host.Stream.Outputs, _costedTracks));
        }

        await EnsureProcessAsync();
        return null;
    }

    /// <summary>
    /// Makes the committed bytes durable in the failover record and acknowledges them. When the store fails, nothing
    /// new is acknowledged: the gateway backs off and sends the chunk again, which is trimmed and stored then.
    /// </summary>
    private async ValueTask<WriteResult> AcknowledgeAsync()
    {
        if (Durable < Committed)
        {
            if (!await _failover.SaveAsync(Record.Id, Committed, Pipeline.InitSegment, Record.LeaseToken))
            {
                if (_failover.Superseded)
                {
                    // A newer lease holder has written the record: this one is fenced off, whatever its lease says.
                    _lease.Fence();
                    await CloseAsync(SessionClose.Lost, "superseded by a newer lease holder", CloseCodes.GatewayRestarting, "session moved; reconnect");
                    return new WriteResult(WriteOutcome.Closed, Durable, CloseCodes.GatewayRestarting, "session moved; reconnect");
                }

                LogNotDurable(_services.Logger, Record.Id, Committed);
                return new WriteResult(WriteOutcome.BufferFull, Durable, Owner: Record.LeaseToken);
            }

            Durable = Committed;
        }

        return new WriteResult(WriteOutcome.Committed, Durable, Owner: Record.LeaseToken);
    }

    private async Task<WriteResult> FailAsync(int closeCode, string reason)
    {
        await CloseAsync(SessionClose.Fail, reason, closeCode, publisherReason: null);
        return new WriteResult(WriteOutcome.Closed, Durable, closeCode, reason);
    }

    private void MarkDisconnected()
    {
        Record.State = SessionState.Disconnected;
        Record.DisconnectedAt = _services.Time.GetUtcNow();
        Observer = null;
    }

    private void Heard() => _lastHeard = _services.Time.GetTimestamp();
}

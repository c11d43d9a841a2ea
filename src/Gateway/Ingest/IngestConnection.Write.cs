using System.Net.WebSockets;
using System.Text.Json;
using LiveStream.Ingest;

namespace LiveStream.Gateway.Ingest;

/// <summary>The write side: runs to the grain, with retries of calls that fail transiently, and the acks.</summary>
internal sealed partial class IngestConnection
{
    /// <summary>
    /// Writes a run of messages (contiguous bytes) to the grain in one call, or in several when the session's buffer
    /// takes only part of it (its answer's committed offset says where the rest starts); each message's latency is
    /// timed from its last frame's arrival to the commit of the whole run.
    /// </summary>
    private async Task<Outcome?> WriteRunAsync(IngestBatch.Run run, ReceiveBuffer receive, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(5);
        var payload = receive.Buffer.AsMemory(run.Start, run.Length);
        var offset = run.Offset;
        var end = run.Offset + payload.Length;
        while (true)
        {
            // Attempts after the first carry no bytes: they ask where the session's committed bytes end.
            var result = await RetryAsync(
                (Grain: grain, _session.Epoch, Offset: offset, Payload: payload),
                static (write, attempt) => write.Grain.WriteAsync(new ChunkWrite(write.Epoch, write.Offset, attempt == 1 ? write.Payload : ReadOnlyMemory<byte>.Empty)).AsTask(),
                cancellationToken,
                receive);
            if (result.Owner > _owner)
            {
                // Only this loop writes it; the observer's close reads it on another thread.
                Interlocked.Exchange(ref _owner, result.Owner);

                // Not awaited here: the writes and acks never wait on it (a call to a silo that dies as well waits
                // for its timeout). The connection awaits it when it ends.
                _attach = AttachAsync(result.Owner, _attach);
            }

            switch (result.Outcome)
            {
                case WriteOutcome.Committed:
                    // Only bytes committed for the first time count: a resend after a reconnect is free.
                    var bitsPerSecond = _bitrate.Add(Math.Max(0, result.Committed - _offset));
                    _offset = Math.Max(_offset, result.Committed);
                    if (bitsPerSecond > options.MaxBitsPerSecond)
                    {
                        return Outcome.ServerClose(CloseCodes.BitrateExceeded, $"bitrate over {options.MaxBitsPerSecond / 1_000_000.0:0.#} Mbit/s");
                    }

                    await MaybeAckAsync(result.Committed, cancellationToken);
                    if (result.Committed < end)
                    {
                        // Part of the run went in: the rest follows at once, or after a back-off if nothing did.
                        if (result.Committed > offset)
                        {
                            payload = payload[(int)(result.Committed - offset)..];
                            offset = result.Committed;
                            backoff = TimeSpan.FromMilliseconds(5);
                            continue;
                        }

                        goto case WriteOutcome.BufferFull;
                    }

                    for (var i = 0; i < run.Messages; i++)
                    {
                        instruments.ChunkLatency.Record(time.GetElapsedTime(_batch.ReceivedAt(run, i)).TotalSeconds);
                    }

                    return null;
                case WriteOutcome.BufferFull:
                    // Back-pressure: this socket is not read until the session's buffer drains.
                    await Task.Delay(backoff, cancellationToken);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));
                    break;
                case WriteOutcome.Gap:
                    return Outcome.ServerClose(result.CloseCode, result.Reason ?? "offset gap");
                default:
                    // Superseded or ended: the grain already knows, so it is not told again.
                    return new Outcome(DisconnectKind.Dropped, result.CloseCode, result.CloseCode, result.Reason ?? "closed", NotifyGrain: false);
            }
        }
    }

    private async Task MaybeAckAsync(long committed, CancellationToken cancellationToken)
    {
        // Every commit is acknowledged: chunks arrive a few times a second, so this is "at least every second
        // while data flows" at the cost of one small text frame per chunk.
        if (protocol != IngestProtocol.V1 || committed <= _lastAcked)
        {
            return;
        }

        _lastAcked = committed;

        // Acks come only from this connection's write loop, one at a time: the buffer is free again when it ends.
        var length = AckMessage.Write(committed, _ackText);
        await SendTextAsync(_ackText.AsMemory(0, length), cancellationToken);
    }

    private Task SendJsonAsync<T>(T message, CancellationToken cancellationToken) =>
        SendTextAsync(JsonSerializer.SerializeToUtf8Bytes(message, IngestJson.Options), cancellationToken);

    private async Task SendTextAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _serverClosed) == 0)
            {
                await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Makes a grain call (a chunk write or a disconnect) with each attempt bounded by <c>WriteAttemptTimeout</c>, and
    /// retries it after a transient cluster failure (a timed-out attempt, a silo that went away) until
    /// <c>WriteRetryTimeout</c> has passed. A call in flight to a silo that died is thus abandoned within a second,
    /// not after <c>GrainCallTimeout</c>. Chunk writes carry their offset: an abandoned attempt that lands after all,
    /// even after a later one, is trimmed by the grain, never doubled.
    /// <para>
    /// <paramref name="call"/> is given <paramref name="state"/> and the attempt's number (1 for the first; the state
    /// and a static callback allocate nothing per call). A write's attempts after the first are the same write
    /// without its bytes, which asks where the session's committed bytes end. A silo that is only slow answers it
    /// once the first attempt (queued ahead of it) has gone in, so its bytes are not sent again; only when they did
    /// not go in (a silo that died, a session picked up elsewhere) does the caller send them again from the answer's
    /// offset. Resending every timed-out payload doubled the work of a silo that was already behind, and under load
    /// it never caught up.
    /// </para>
    /// <para>
    /// <paramref name="payload"/> is the receive buffer the call's payload lives in: an attempt given up on while
    /// still under way is lent it, so the buffer is not reused while that attempt may still read it.
    /// </para>
    /// </summary>
    private async Task<T> RetryAsync<TState, T>(TState state, Func<TState, int, Task<T>> call, CancellationToken cancellationToken, ReceiveBuffer? payload = null)
    {
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(50);
        for (var attempt = 1; ; attempt++)
        {
            var pending = call(state, attempt);
            try
            {
                return await pending.WaitAsync(options.WriteAttemptTimeout, time, cancellationToken);
            }
            catch (Exception ex)
            {
                payload?.Lend(pending);
                if (!IsTransient(ex) || time.GetElapsedTime(started) >= options.WriteRetryTimeout)
                {
                    throw;
                }

                // An abandoned attempt may still fail later; its outcome is of no interest any more.
                pending.Ignore();
                // One line, no stack trace: under overload every connection retries, and the log is no place to add work.
                LogRetrying(logger, _session.SessionId!, ex.GetType().Name, attempt);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
    }

    /// <summary>
    /// Failures that a retry can outlive: a timeout, a silo that went away, a message the runtime rejected, or a
    /// connection to a silo that could not be made (its process just died; the retry goes to a survivor).
    /// </summary>
    private static bool IsTransient(Exception ex) =>
        ex is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException;

    /// <summary>
    /// A new owner answered (the session was picked up on another silo by this write): it learns this connection's
    /// observer, so a close it asks for (superseded, failed, stopped) comes here at once instead of at the next write.
    /// Runs after the one before it (<paramref name="previous"/>), bounded by <c>WriteAttemptTimeout</c>. When the call
    /// fails the connection goes on as before; the owner's answers to writes still close it.
    /// </summary>
    private async Task AttachAsync(long owner, Task previous)
    {
        await previous;
        if (Observer is not { } observer)
        {
            return;
        }

        try
        {
            await grain.AttachAsync(_session.Epoch, observer).WaitAsync(options.WriteAttemptTimeout);
            LogAttached(logger, _session.SessionId!, _session.Epoch, owner);
        }
        catch (Exception ex) when (IngestEndpoint.IsClusterFailure(ex))
        {
            LogGrainCallFailed(logger, ex, _session.SessionId!);
        }
    }
}

using System.Net.WebSockets;
using System.Text.Json;
using LiveStream.Gateway.Options;
using LiveStream.Ingest;
using LiveStream.Gateway.Telemetry;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// One publisher's socket: receives messages into pooled buffers and awaits each grain write before reading the
/// next, so ordering and back-pressure hold end to end (a full session buffer stops the reads; TCP pushes back).
/// </summary>
internal sealed partial class IngestConnection(
    WebSocket socket,
    IStreamGrain grain,
    IngestProtocol protocol,
    IngestOptions options,
    TimeProvider time,
    GatewayInstruments instruments,
    ILogger logger) : IPublisherObserver, IDisposable
{
    /// <summary>A batch takes more messages that have already arrived only while it holds fewer bytes than this.</summary>
    private const int BatchBytes = 1024 * 1024;
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AckInterval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan ClosingGrace = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _abort = new();
    private readonly IngestBatch _batch = new(BatchBytes);
    private ConnectResult _session = null!;
    private long _offset;
    private long _lastAcked = -1;
    private int _serverClosed;
    private int _draining;
    private int _idleClosed;
    private long _waitingSince;
    private BitrateMeter _bitrate = null!;

    /// <summary>Runs until the socket closes; returns the close code the connection ended with.</summary>
    public async Task<int> RunAsync(ConnectResult session, CancellationToken requestAborted)
    {
        _session = session;
        _offset = session.ResumeFrom;
        _lastAcked = session.ResumeFrom;
        _bitrate = new BitrateMeter(options.BitrateWindow, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _abort.Token);
        var cancellationToken = linked.Token;
        var receive = new ReceiveBuffer(options.ReceiveBufferBytes);
        var outcome = new Outcome(DisconnectKind.Dropped, 1006, null, null);
        using var stopWatchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watchdog = WatchIdleAsync(stopWatchdog.Token);
        try
        {
            if (protocol == IngestProtocol.V1)
            {
                await SendJsonAsync(new HelloMessage("hello", session.SessionId!, session.ResumeFrom, session.ReconnectWindowSeconds, session.HlsUrl), cancellationToken);
            }

            outcome = await ReceiveLoopAsync(receive, cancellationToken);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            outcome = new Outcome(DisconnectKind.Dropped, 1006, null, null);
        }
        catch (Exception ex) when (IngestEndpoint.IsClusterFailure(ex))
        {
            LogGrainCallFailed(logger, ex, session.SessionId!);
            outcome = new Outcome(DisconnectKind.Dropped, CloseCodes.InternalError, CloseCodes.InternalError, "internal error");
        }
        finally
        {
            receive.Release();
            await stopWatchdog.CancelAsync();
            await watchdog;
        }

        if (Volatile.Read(ref _idleClosed) == 1)
        {
            // Closed here for silence: the session waits in its reconnect window.
            outcome = new Outcome(DisconnectKind.Dropped, CloseCodes.Idle, null, null);
        }
        else if (Volatile.Read(ref _serverClosed) is var grainCode and not 0)
        {
            // A close the grain asked for (superseded, failed) is already known to it and already sent.
            outcome = new Outcome(DisconnectKind.Dropped, grainCode, null, null, NotifyGrain: false);
        }
        else if (Volatile.Read(ref _draining) == 1)
        {
            // The gateway is going away: the session waits in its window for the client to come back elsewhere.
            outcome = new Outcome(DisconnectKind.Dropped, CloseCodes.GatewayRestarting, null, null);
        }

        if (outcome.NotifyGrain)
        {
            try
            {
                await RetryAsync(
                    async () =>
                    {
                        await grain.DisconnectAsync(_session.Epoch, outcome.Kind, outcome.Code);
                        return true;
                    },
                    CancellationToken.None);
            }
            catch (Exception ex) when (IngestEndpoint.IsClusterFailure(ex))
            {
                LogGrainCallFailed(logger, ex, session.SessionId!);
            }
        }

        if (outcome.ServerCloseCode is { } closeCode)
        {
            await _sendLock.WaitAsync(requestAborted);
            try
            {
                await CloseQuietlyAsync(socket, closeCode, outcome.Reason ?? "", requestAborted);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        LogClosed(logger, session.SessionId!, session.Epoch, outcome.Code);
        return outcome.Code;
    }

    public void Dispose()
    {
        _abort.Dispose();
        _sendLock.Dispose();
    }

    /// <summary>The gateway is stopping: close with 1012 so the client reconnects through another gateway.</summary>
    public async Task DrainAsync()
    {
        if (Volatile.Read(ref _serverClosed) != 0 || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
        {
            return;
        }

        try
        {
            await _sendLock.WaitAsync(_abort.Token);
            try
            {
                if (socket.State == WebSocketState.Open)
                {
                    await socket.CloseOutputAsync((WebSocketCloseStatus)CloseCodes.GatewayRestarting, "gateway restarting: reconnect elsewhere", _abort.Token);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Already gone.
        }

        _abort.CancelAfter(ClosingGrace);
    }

    /// <summary>The grain says this connection must close (superseded, session failed or stopped).</summary>
    public async Task CloseAsync(int epoch, int closeCode, string reason)
    {
        if (epoch != _session.Epoch || Interlocked.CompareExchange(ref _serverClosed, closeCode, 0) != 0)
        {
            return;
        }

        LogClosedByGrain(logger, _session.SessionId!, epoch, closeCode);
        await SendCloseAsync(closeCode, reason);
    }

    /// <summary>
    /// Sends a close frame; the receive loop sees the client's answering close frame and ends, and a client that
    /// never answers is cut off after a grace period.
    /// </summary>
    private async Task SendCloseAsync(int closeCode, string reason)
    {
        try
        {
            await _sendLock.WaitAsync(_abort.Token);
            try
            {
                if (socket.State == WebSocketState.Open)
                {
                    await socket.CloseOutputAsync((WebSocketCloseStatus)closeCode, FitReason(reason), _abort.Token);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Already gone.
        }

        _abort.CancelAfter(ClosingGrace);
    }

    /// <summary>Closes the connection with 4408 once it has waited <c>IdleTimeout</c> for a message.</summary>
    private async Task WatchIdleAsync(CancellationToken cancellationToken)
    {
        var check = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 100, options.IdleTimeout.Ticks / 4));
        try
        {
            while (true)
            {
                await Task.Delay(check, time, cancellationToken);
                var since = Volatile.Read(ref _waitingSince);
                if (since != 0 && time.GetElapsedTime(since) >= options.IdleTimeout)
                {
                    if (Interlocked.CompareExchange(ref _serverClosed, CloseCodes.Idle, 0) == 0)
                    {
                        Volatile.Write(ref _idleClosed, 1);
                        LogIdle(logger, _session.SessionId!, _session.Epoch, options.IdleTimeout.TotalSeconds);
                        await SendCloseAsync(CloseCodes.Idle, $"no data for {options.IdleTimeout.TotalSeconds:0.#} s");
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The connection ended.
        }
    }

    /// <summary>Closes with a code and reason, waiting briefly for the client's close frame; never throws.</summary>
    public static async Task CloseQuietlyAsync(WebSocket socket, int code, string reason, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CloseHandshakeTimeout);
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseAsync((WebSocketCloseStatus)code, FitReason(reason), timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The peer is gone; nothing more to tell it.
        }
    }

    /// <summary>A close reason must fit in 123 UTF-8 bytes.</summary>
    private static string FitReason(string reason)
    {
        const int Max = 120;
        if (System.Text.Encoding.UTF8.GetByteCount(reason) <= Max)
        {
            return reason;
        }

        var cut = reason[..Math.Min(reason.Length, Max)];
        while (System.Text.Encoding.UTF8.GetByteCount(cut) > Max)
        {
            cut = cut[..^1];
        }

        return cut;
    }

    private async Task<Outcome> ReceiveLoopAsync(ReceiveBuffer state, CancellationToken cancellationToken)
    {
        // A message whose start was seen while a batch was read (a text or close frame), and a wait for the next
        // message that a batch started but did not need.
        ValueWebSocketReceiveResult? seen = null;
        ValueTask<ValueWebSocketReceiveResult>? waiting = null;
        while (true)
        {
            ValueWebSocketReceiveResult start;
            if (seen is { } known)
            {
                start = known;
                seen = null;
            }
            else
            {
                // Between messages no receive buffer is held: a zero-byte read waits for the next frame, so an idle
                // connection costs its socket and nothing more. Idle time is time spent waiting here; back-pressure
                // (a full session buffer) is not idleness.
                Volatile.Write(ref _waitingSince, time.GetTimestamp());
                start = await (waiting ?? socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken));
                waiting = null;
                Volatile.Write(ref _waitingSince, 0);
            }

            var (filled, tooBig) = await ReceiveMessageAsync(state, start, at: 0, cancellationToken);
            if (tooBig is not null)
            {
                return tooBig;
            }

            switch (start.MessageType)
            {
                case WebSocketMessageType.Close:
                    return ClientClosed();
                case WebSocketMessageType.Text:
                    if (protocol == IngestProtocol.V1 && IsEndMessage(state.Buffer.AsSpan(0, filled)))
                    {
                        return new Outcome(DisconnectKind.End, CloseCodes.Normal, CloseCodes.Normal, "session ended");
                    }

                    return Outcome.ServerClose(CloseCodes.ProtocolViolation, protocol == IngestProtocol.Raw ? "text frame in raw mode" : "malformed message");
            }

            var batch = _batch;
            batch.Reset(_offset);
            if (batch.Add(protocol, state.Buffer, 0, filled, time.GetTimestamp()) is { } malformed)
            {
                return Outcome.ServerClose(CloseCodes.ProtocolViolation, malformed);
            }

            // Fewer, larger hops: the binary messages that have already arrived join this one's grain call (their
            // bytes continue its bytes). Nothing waits for a batch: the first message not here yet ends it.
            while (batch.Bytes < BatchBytes)
            {
                var next = socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
                if (!next.IsCompleted)
                {
                    waiting = next;
                    break;
                }

                var more = await next;
                if (more.MessageType != WebSocketMessageType.Binary || state.Buffer.Length - batch.End < filled)
                {
                    // A text or close frame ends the batch, and so does a message that would not fit in the room the
                    // buffer has left (judged by the size of the one before it): a batch never grows the buffer. A
                    // backlog (a slow silo) would otherwise turn every connection's buffer into a mebibyte, copied
                    // at each doubling, at the moment the gateway can least afford it. The message is read next.
                    seen = more;
                    break;
                }

                var at = batch.End;
                (filled, tooBig) = await ReceiveMessageAsync(state, more, at, cancellationToken);
                if (tooBig is not null)
                {
                    return tooBig;
                }

                if (batch.Add(protocol, state.Buffer, at, filled, time.GetTimestamp()) is { } bad)
                {
                    return Outcome.ServerClose(CloseCodes.ProtocolViolation, bad);
                }
            }

            foreach (var run in batch.Runs)
            {
                var written = await WriteRunAsync(run, state, cancellationToken);
                if (written is not null)
                {
                    return written;
                }
            }

            state.Release(batch.End);
        }
    }

    /// <summary>
    /// Receives the message whose start is <paramref name="start"/> into the buffer from <paramref name="at"/>;
    /// returns its length, or the close for a message over <c>MaxMessageBytes</c>.
    /// </summary>
    private async ValueTask<(int Length, Outcome? TooBig)> ReceiveMessageAsync(ReceiveBuffer state, ValueWebSocketReceiveResult start, int at, CancellationToken cancellationToken)
    {
        var result = start;
        var filled = 0;
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close)
        {
            if (filled >= options.MaxMessageBytes || (at + filled == state.Buffer.Length && !state.Grow(at + options.MaxMessageBytes)))
            {
                return (filled, Outcome.ServerClose(CloseCodes.MessageTooBig, $"message over {options.MaxMessageBytes} bytes"));
            }

            Volatile.Write(ref _waitingSince, time.GetTimestamp());
            result = await socket.ReceiveAsync(state.Buffer.AsMemory(at + filled, Math.Min(state.Buffer.Length - at - filled, options.MaxMessageBytes - filled)), cancellationToken);
            Volatile.Write(ref _waitingSince, 0);
            filled += result.Count;
        }

        return (filled, null);
    }

    private Outcome ClientClosed()
    {
        // A raw client's 1000 or bare close (1005) is a deliberate end; anything else only drops the connection.
        var status = (int?)socket.CloseStatus ?? 1005;
        var kind = protocol == IngestProtocol.Raw && status is 1000 or 1005 ? DisconnectKind.End : DisconnectKind.Dropped;
        return new Outcome(kind, status, CloseCodes.Normal, "");
    }

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
            var result = await RetryAsync(
                () => grain.WriteAsync(new ChunkWrite(_session.Epoch, offset, payload)),
                cancellationToken,
                receive,
                retry: () => grain.WriteAsync(new ChunkWrite(_session.Epoch, offset, ReadOnlyMemory<byte>.Empty)));
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
        await SendJsonAsync(new AckMessage("ack", committed), cancellationToken);
    }

    private async Task SendJsonAsync<T>(T message, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(message, IngestJson.Options);
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
    /// Attempts after the first make <paramref name="retry"/> when given: for a write, the same write without its
    /// bytes, which asks where the session's committed bytes end. A silo that is only slow answers it once the first
    /// attempt (queued ahead of it) has gone in, so its bytes are not sent again; only when they did not go in (a silo
    /// that died, a session picked up elsewhere) does the caller send them again from the answer's offset. Resending
    /// every timed-out payload doubled the work of a silo that was already behind, and under load it never caught up.
    /// </para>
    /// <para>
    /// <paramref name="payload"/> is the receive buffer the call's payload lives in: an attempt given up on while
    /// still under way is lent it, so the buffer is not reused while that attempt may still read it.
    /// </para>
    /// </summary>
    private async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken, ReceiveBuffer? payload = null, Func<Task<T>>? retry = null)
    {
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(50);
        for (var attempt = 1; ; attempt++)
        {
            var pending = attempt > 1 && retry is not null ? retry() : call();
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

    private static bool IsEndMessage(ReadOnlySpan<byte> text)
    {
        try
        {
            var reader = new Utf8JsonReader(text);
            using var doc = JsonDocument.ParseValue(ref reader);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("type", out var type)
                && type.ValueKind == JsonValueKind.String
                && type.ValueEquals("end");
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private sealed record Outcome(DisconnectKind Kind, int Code, int? ServerCloseCode, string? Reason, bool NotifyGrain = true)
    {
        public static Outcome ServerClose(int code, string reason) => new(DisconnectKind.Dropped, code, code, reason);
    }

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Publisher of session {SessionId}, epoch {Epoch}, closed with {CloseCode}")]
    private static partial void LogClosed(ILogger logger, string sessionId, int epoch, int closeCode);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Publisher of session {SessionId}, epoch {Epoch}, closed by the session with {CloseCode}")]
    private static partial void LogClosedByGrain(ILogger logger, string sessionId, int epoch, int closeCode);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Warning, Message = "Grain call for session {SessionId} failed transiently ({Failure}); retry {Attempt}")]
    private static partial void LogRetrying(ILogger logger, string sessionId, string failure, int attempt);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information, Message = "Publisher of session {SessionId}, epoch {Epoch}, sent nothing for {Seconds} s; closing with 4408")]
    private static partial void LogIdle(ILogger logger, string sessionId, int epoch, double seconds);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Grain call failed for session {SessionId}")]
    private static partial void LogGrainCallFailed(ILogger logger, Exception exception, string sessionId);
}

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
    IdleWatch idleWatch,
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
    private readonly byte[] _ackText = new byte[AckMessage.MaxLength];
    private ConnectResult _session = null!;
    private long _offset;
    private long _lastAcked = -1;
    private int _serverClosed;

    // The largest fencing token among the session owners that answered this connection: a close from an owner with a
    // smaller one comes from a silo the session has left (paused, then resumed), and is ignored.
    private long _owner;
    private int _draining;
    private int _idleClosed;
    private long _waitingSince;
    private readonly Lock _idleGate = new();
    private Task _idleClose = Task.CompletedTask;
    private bool _unwatched;
    private BitrateMeter _bitrate = null!;

    // Giving a new owner of the session this connection's observer (see AttachAsync): owned, awaited at the end.
    private Task _attach = Task.CompletedTask;

    /// <summary>
    /// This connection as the session's observer (the reference the owners call): given to a new owner of the
    /// session, one that picked it up on another silo, so that it can close the connection (<see cref="AttachAsync"/>).
    /// </summary>
    public IPublisherObserver? Observer { get; set; }

    /// <summary>Runs until the socket closes; returns the close code the connection ended with.</summary>
    public async Task<int> RunAsync(ConnectResult session, CancellationToken requestAborted)
    {
        _session = session;
        _owner = session.Owner;
        _offset = session.ResumeFrom;
        _lastAcked = session.ResumeFrom;
        _bitrate = new BitrateMeter(options.BitrateWindow, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _abort.Token);
        var cancellationToken = linked.Token;
        var receive = new ReceiveBuffer(options.ReceiveBufferBytes);
        var outcome = new Outcome(DisconnectKind.Dropped, 1006, null, null);
        idleWatch.Add(this);
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
            await Unwatch();
            await _attach;
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
                    (Grain: grain, _session.Epoch, outcome.Kind, outcome.Code),
                    static async (disconnect, _) =>
                    {
                        await disconnect.Grain.DisconnectAsync(disconnect.Epoch, disconnect.Kind, disconnect.Code);
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

    /// <summary>
    /// The grain says this connection must close (superseded, session failed or stopped, lease lost). Not when a later
    /// owner of the session has answered this connection since: the asking owner was left behind (its silo paused
    /// while the session was picked up elsewhere), and the connection goes on with the session where it is now.
    /// </summary>
    public async Task CloseAsync(int epoch, int closeCode, string reason, long owner)
    {
        if (epoch != _session.Epoch)
        {
            return;
        }

        if (owner < Interlocked.Read(ref _owner))
        {
            LogStaleOwnerClose(logger, _session.SessionId!, epoch, closeCode);
            return;
        }

        if (Interlocked.CompareExchange(ref _serverClosed, closeCode, 0) != 0)
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

    /// <summary>
    /// From the gateway's idle clock (<see cref="IdleWatch"/>): closes the connection with 4408 once it has waited
    /// <c>IdleTimeout</c> for a message.
    /// </summary>
    internal void CloseIfIdle()
    {
        lock (_idleGate)
        {
            var since = Volatile.Read(ref _waitingSince);
            if (_unwatched || since == 0 || time.GetElapsedTime(since) < options.IdleTimeout
                || Interlocked.CompareExchange(ref _serverClosed, CloseCodes.Idle, 0) != 0)
            {
                return;
            }

            Volatile.Write(ref _idleClosed, 1);
            LogIdle(logger, _session.SessionId!, _session.Epoch, options.IdleTimeout.TotalSeconds);
            _idleClose = SendCloseAsync(CloseCodes.Idle, $"no data for {options.IdleTimeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>Takes the connection off the idle clock; the close it may have started is awaited.</summary>
    private Task Unwatch()
    {
        idleWatch.Remove(this);
        lock (_idleGate)
        {
            _unwatched = true;
            return _idleClose;
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

    private sealed record Outcome(DisconnectKind Kind, int Code, int? ServerCloseCode, string? Reason, bool NotifyGrain = true)
    {
        public static Outcome ServerClose(int code, string reason) => new(DisconnectKind.Dropped, code, code, reason);
    }
}

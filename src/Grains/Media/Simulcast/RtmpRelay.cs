using LiveStream.Sessions;
using LiveStream.Options;
using LiveStream.Streams;
using Microsoft.Extensions.Logging;

namespace LiveStream.Media;

/// <summary>
/// One RTMP target of a session: a bounded buffer fed by the fan-out and a relay process that pushes it to the
/// target, supervised on its own. A relay that exits is started again after 1 s, 2 s, 4 s … (at most
/// <c>Simulcast:MaxBackoff</c>) and joins the stream at the next keyframe; a relay that falls behind by a whole
/// buffer drops its backlog and rejoins at the next keyframe. Neither touches the encoder or the other targets.
/// </summary>
internal sealed partial class RtmpRelay : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly CancellationTokenSource _dispose;
    private readonly string _sessionId;
    private readonly int _index;
    private readonly string _url;
    private readonly SimulcastContext _context;
    private Task _loop = Task.CompletedTask;

    // Guarded by _gate: the current attempt's input and how far it is in the stream.
    private SessionBuffer? _buffer;
    private IMediaProcess? _process;
    private bool _preambleSent;
    private bool _joined;
    private bool _rotating;
    private bool _stopping;
    private long _added;
    private long _preambleBytes;

    private volatile OutputState _state = OutputState.Starting;
    private volatile string? _lastError;
    private int _restarts;
    private long _dropped;

    public RtmpRelay(string sessionId, int index, string url, SimulcastContext context)
    {
        _sessionId = sessionId;
        _index = index;
        _url = url;
        _context = context;
        _dispose = CancellationTokenSource.CreateLinkedTokenSource(context.Supervisor.Stopping);
        RedactedUrl = SecretRedactor.Redact(url);
    }

    /// <summary>The target's URL with its key masked.</summary>
    public string RedactedUrl { get; }

    /// <summary>Backlogs dropped because the relay fell a whole buffer behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Starts the supervision loop (on the thread pool, outside any grain turn).</summary>
    public void Start() => _loop = _context.Supervisor.RunDetached(() => RunAsync(_dispose.Token));

    public OutputStatus Status()
    {
        int? pid;
        lock (_gate)
        {
            pid = _process is { Exited.IsCompleted: false } p ? p.Id : null;
        }

        return new OutputStatus(OutputType.Rtmp, RedactedUrl, _state, _lastError, Volatile.Read(ref _restarts), pid);
    }

    /// <summary>A new encoder stream begins (a new FFmpeg): a relay that has read the old one's header must start again.</summary>
    public void NewStream()
    {
        lock (_gate)
        {
            if (_preambleSent)
            {
                _rotating = true;
                _buffer?.Complete();
                _buffer = null;
            }

            _joined = false;
        }
    }

    /// <summary>Called by the fan-out for every unit of the encoder stream, in order. Never waits.</summary>
    public void Offer(ReadOnlySpan<byte> unit, FlvTagKind kind, FlvStreamHead head)
    {
        lock (_gate)
        {
            if (_buffer is not { } buffer)
            {
                return;
            }

            if (!_joined)
            {
                if (!head.IsJoinPoint(kind))
                {
                    return;
                }

                if (!_preambleSent)
                {
                    foreach (var part in head.Preamble())
                    {
                        if (!Add(buffer, part))
                        {
                            return;
                        }
                    }

                    _preambleSent = true;
                    _preambleBytes = _added;
                }

                _joined = true;
            }

            if (!buffer.HasRoomFor(unit.Length))
            {
                DropBacklog(buffer);
                return;
            }

            Add(buffer, unit);
        }
    }

    // Under _gate. The attempt's process completes its input when it exits, before the supervision loop lets go of
    // the buffer: the unit is then dropped (the next attempt joins at a keyframe), never thrown into the fan-out,
    // whose failure would end the encoder and with it every other target.
    private bool Add(SessionBuffer buffer, ReadOnlySpan<byte> unit)
    {
        if (!buffer.TryAdd(unit))
        {
            _buffer = null;
            return false;
        }

        _added += unit.Length;
        return true;
    }

    /// <summary>Lets the relay send what it has and finish (bounded by FFmpeg's stop timeouts); no restart follows.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        IMediaProcess? process;
        lock (_gate)
        {
            _stopping = true;
            _buffer?.Complete();
            process = _process;
        }

        if (process is not null)
        {
            await process.StopAsync(cancellationToken);
        }

        await _dispose.CancelAsync();
        await _loop.WaitAsync(cancellationToken);
    }

    /// <summary>Kills the relay process at once and starts none again (the session was fenced off). Any thread.</summary>
    public void Kill()
    {
        IMediaProcess? process;
        lock (_gate)
        {
            _stopping = true;
            process = _process;
        }

        process?.Kill();
        try
        {
            _dispose.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed already.
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _stopping = true;
        }

        await _dispose.CancelAsync();
        await _loop;
        _dispose.Dispose();
    }

    private void DropBacklog(SessionBuffer buffer)
    {
        // What the relay has not read yet goes; it goes on from the next keyframe. Only if it has not even read the
        // stream's header is the attempt started again (a reader cannot do without it).
        var consumed = _added - buffer.BufferedBytes;
        buffer.DropQueued();
        _added = buffer.BufferedBytes;
        Interlocked.Increment(ref _dropped);
        LogBacklogDropped(_context.Logger, _sessionId, _index, RedactedUrl);
        if (consumed < _preambleBytes)
        {
            _rotating = true;
            buffer.Complete();
            _buffer = null;
        }
        else
        {
            _preambleBytes = 0;
            _joined = false;
        }
    }

    private void OnLive()
    {
        if (_state != OutputState.Live)
        {
            _state = OutputState.Live;
            LogLive(_context.Logger, _sessionId, _index, RedactedUrl);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var buffer = new SessionBuffer(_context.Options.RelayBufferBytes);
            lock (_gate)
            {
                if (_stopping)
                {
                    buffer.Dispose();
                    return;
                }

                _buffer = buffer;
                _preambleSent = false;
                _joined = false;
                _rotating = false;
                _added = 0;
                _preambleBytes = 0;
            }

            _state = OutputState.Starting;
            var wasLive = false;
            string? error = null;
            bool rotated;
            try
            {
                var process = await _context.Runner.StartRelayAsync(new RelaySpec(_sessionId, _index, _url, OnLive), buffer);
                lock (_gate)
                {
                    _process = process;
                }

                LogStarted(_context.Logger, _sessionId, _index, RedactedUrl, process.Id);
                try
                {
                    var exitCode = await process.Exited.WaitAsync(cancellationToken);
                    wasLive = _state == OutputState.Live;
                    error = SecretRedactor.Redact(process.StderrTail.LastOrDefault(l => l.Length > 0) ?? $"exited with code {exitCode}");
                }
                finally
                {
                    lock (_gate)
                    {
                        _process = null;
                    }

                    await process.DisposeAsync();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
            {
                error = SecretRedactor.Redact(ex.Message);
            }
            finally
            {
                lock (_gate)
                {
                    rotated = _rotating;
                    if (_buffer == buffer)
                    {
                        _buffer = null;
                    }
                }

                buffer.Dispose();
            }

            lock (_gate)
            {
                if (_stopping)
                {
                    return;
                }
            }

            if (rotated)
            {
                // A new encoder stream, or a relay that lost the stream's header: start again at once, not a failure.
                continue;
            }

            _lastError = error;
            _context.Instruments.OutputFailures.Add(1, new KeyValuePair<string, object?>("output", "rtmp"));
            var restarts = Interlocked.Increment(ref _restarts);
            failures = wasLive ? 1 : failures + 1;
            if (_context.Options.MaxRelayRestarts > 0 && restarts > _context.Options.MaxRelayRestarts)
            {
                _state = OutputState.Failed;
                LogGaveUp(_context.Logger, _sessionId, _index, RedactedUrl, restarts - 1, _lastError);
                return;
            }

            _state = OutputState.Retrying;
            var delay = Backoff(failures, _context.Options.MaxBackoff);
            LogRetrying(_context.Logger, _sessionId, _index, RedactedUrl, delay, _lastError);
            try
            {
                await Task.Delay(delay, _context.Time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>1 s, 2 s, 4 s … at most <paramref name="max"/>, for the <paramref name="failures"/>-th failure in a row.</summary>
    internal static TimeSpan Backoff(int failures, TimeSpan max)
    {
        var seconds = Math.Pow(2, Math.Clamp(failures - 1, 0, 30));
        return TimeSpan.FromSeconds(Math.Min(seconds, max.TotalSeconds));
    }

    [LoggerMessage(EventId = 3400, Level = LogLevel.Information, Message = "Relay {ProcessId} started for target {Target} ({Url}) of session {SessionId}")]
    private static partial void LogStarted(ILogger logger, string sessionId, int target, string url, int processId);

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Target {Target} ({Url}) of session {SessionId} is live")]
    private static partial void LogLive(ILogger logger, string sessionId, int target, string url);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Relay for target {Target} ({Url}) of session {SessionId} exited ({LastError}); retrying in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string sessionId, int target, string url, TimeSpan delay, string? lastError);

    [LoggerMessage(EventId = 3403, Level = LogLevel.Warning, Message = "Relay for target {Target} ({Url}) of session {SessionId} fell a whole buffer behind; its backlog was dropped")]
    private static partial void LogBacklogDropped(ILogger logger, string sessionId, int target, string url);

    [LoggerMessage(EventId = 3404, Level = LogLevel.Error, Message = "Target {Target} ({Url}) of session {SessionId} failed after {Restarts} restarts ({LastError})")]
    private static partial void LogGaveUp(ILogger logger, string sessionId, int target, string url, int restarts, string? lastError);
}

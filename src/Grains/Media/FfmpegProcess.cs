using CliWrap;
using CliWrap.Builders;
using LiveStream.Options;
using Microsoft.Extensions.Logging;

namespace LiveStream.Media;

/// <summary>
/// One FFmpeg child process, started through CliWrap with stdin fed from a <see cref="SessionBuffer"/>: a session's
/// encoder, or one of its simulcast relays.
/// </summary>
internal sealed partial class FfmpegProcess : IMediaProcess
{
    private readonly CancellationTokenSource _graceful = new();
    private readonly CancellationTokenSource _forceful = new();
    private readonly CommandTask<CommandResult> _task;
    private readonly FfmpegOptions _options;
    private readonly MediaProcessSupervisor _supervisor;
    private readonly ILogger _logger;
    private readonly string _sessionId;
    private readonly Queue<string> _stderr = new();
    private readonly SessionBuffer _input;
    private readonly FfmpegProgress _progress;

    public FfmpegProcess(MediaProcessSpec spec, SessionBuffer input, FfmpegOptions options, MediaProcessSupervisor supervisor, TimeProvider time, ILogger logger)
        : this(spec.SessionId, args => FfmpegArguments.Build(args, spec, options), input, spec.Stdout is { } stdout ? PipeTarget.Create(stdout) : PipeTarget.Null, options, supervisor, time, logger)
    {
    }

    // owner names the process in logs (a session id, or a session id and a relay's target); arguments adds FFmpeg's
    // arguments (after setpriv's, when it dies with the silo).
    public FfmpegProcess(string owner, Action<ArgumentsBuilder> arguments, SessionBuffer input, PipeTarget stdout, FfmpegOptions options, MediaProcessSupervisor supervisor, TimeProvider time, ILogger logger)
    {
        _progress = new FfmpegProgress(time);
        _options = options;
        _supervisor = supervisor;
        _logger = logger;
        _sessionId = owner;
        _input = input;

        // With DieWithSilo, setpriv execs FFmpeg (same pid) with a parent-death signal: a silo killed with -9 takes
        // its FFmpegs with it, so none keeps writing outputs that a new owner now writes.
        var command = (options.DieWithSilo ? Cli.Wrap(SetprivPath) : Cli.Wrap(options.Path))
            .WithArguments(args =>
            {
                if (options.DieWithSilo)
                {
                    args.Add("--pdeathsig").Add("KILL").Add("--").Add(options.Path);
                }

                arguments(args);
            })
            .WithStandardInputPipe(PipeSource.Create(input.DrainToAsync))
            .WithStandardOutputPipe(stdout)
            .WithStandardErrorPipe(PipeTarget.ToDelegate(OnStderrLine))
            .WithValidation(CommandResultValidation.None);

        _task = command.ExecuteAsync(_forceful.Token, _graceful.Token);
        Id = _task.ProcessId;
        Exited = WaitForExitAsync();
        _supervisor.Track(this);
        LogStarted(_logger, _sessionId, Id);
    }

    /// <summary>util-linux's setpriv (an essential Debian package).</summary>
    public const string SetprivPath = "setpriv";

    public int Id { get; }

    public Task<int> Exited { get; }

    public IReadOnlyList<string> StderrTail
    {
        get
        {
            lock (_stderr)
            {
                return [.. _stderr];
            }
        }
    }

    public MediaProgress? Progress => _progress.Current;

    public async Task<int> StopAsync(CancellationToken cancellationToken)
    {
        _input.Complete();
        if (await WaitAsync(_options.StopTimeout, cancellationToken))
        {
            return await Exited;
        }

        LogInterrupting(_logger, _sessionId, Id);
        await _graceful.CancelAsync();
        if (await WaitAsync(_options.KillTimeout, cancellationToken))
        {
            return await Exited;
        }

        Kill();
        return await Exited;
    }

    public void Kill()
    {
        if (!Exited.IsCompleted)
        {
            LogKilling(_logger, _sessionId, Id);
        }

        _forceful.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Exited;

        // The buffer belongs to whoever created it; the process only ends its input. The two cancellation sources
        // have no timer and are not disposed: Kill stays safe after this, from any thread (a lease's fence, which
        // may fire after an owner has let go of a retired process).
        _input.Complete();
    }

    private async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await Exited.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task<int> WaitForExitAsync()
    {
        int exitCode;
        try
        {
            var result = await _task;
            exitCode = result.ExitCode;
        }
        catch (OperationCanceledException)
        {
            exitCode = -1;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            LogFailed(_logger, ex, _sessionId, Id);
            exitCode = -2;
        }

        _supervisor.Untrack(this);
        LogExited(_logger, _sessionId, Id, exitCode);
        return exitCode;
    }

    private void OnStderrLine(string line)
    {
        // Progress reports (-progress pipe:2) share stderr with the log lines; they are read, not kept or logged.
        if (_progress.TryRead(line))
        {
            return;
        }

        var redacted = SecretRedactor.Redact(line);
        lock (_stderr)
        {
            _stderr.Enqueue(redacted);
            while (_stderr.Count > _options.StderrTailLines)
            {
                _stderr.Dequeue();
            }
        }

        LogStderr(_logger, _sessionId, redacted);
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "FFmpeg {ProcessId} started for session {SessionId}")]
    private static partial void LogStarted(ILogger logger, string sessionId, int processId);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "FFmpeg {ProcessId} of session {SessionId} exited with code {ExitCode}")]
    private static partial void LogExited(ILogger logger, string sessionId, int processId, int exitCode);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "FFmpeg {ProcessId} of session {SessionId} did not finish in time; interrupting it")]
    private static partial void LogInterrupting(ILogger logger, string sessionId, int processId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Killing FFmpeg {ProcessId} of session {SessionId}")]
    private static partial void LogKilling(ILogger logger, string sessionId, int processId);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "FFmpeg of session {SessionId}: {Line}")]
    private static partial void LogStderr(ILogger logger, string sessionId, string line);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "FFmpeg {ProcessId} of session {SessionId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string sessionId, int processId);
}

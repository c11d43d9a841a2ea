using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LiveStream.Media;

/// <summary>
/// Tracks every media process this silo started and kills the survivors when the host stops. Registered before
/// the silo so it stops after it: grains get their graceful stop first, then nothing is left behind.
/// </summary>
public sealed partial class MediaProcessSupervisor : IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<IMediaProcess, byte> _running = new();
    private readonly BlockingCollection<Action> _launches = new(boundedCapacity: 256);
    private readonly ILogger<MediaProcessSupervisor> _logger;

    public MediaProcessSupervisor(ILogger<MediaProcessSupervisor> logger)
    {
        _logger = logger;

        // One long-lived thread forks every media process (see LaunchAsync).
        var launcher = new Thread(RunLauncher) { IsBackground = true, Name = "livestream-media-launcher" };
        launcher.Start();
    }
    private readonly ConcurrentDictionary<Task, byte> _detached = new();
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancelled when the host stops: loops that start processes (simulcast relays) start no more.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Process ids of the media processes running now.</summary>
    public IReadOnlyList<int> RunningProcessIds => [.. _running.Keys.Select(p => p.Id)];

    internal void Track(IMediaProcess process) => _running.TryAdd(process, 0);

    internal void Untrack(IMediaProcess process) => _running.TryRemove(process, out _);

    /// <summary>
    /// Runs <paramref name="start"/> (which forks a process) on the supervisor's launcher thread. A child's
    /// parent-death signal is tied to the thread that forked it, and this thread lives as long as the silo.
    /// </summary>
    public Task<T> LaunchAsync<T>(Func<T> start)
    {
        var launched = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _launches.Add(() =>
        {
            try
            {
                launched.SetResult(start());
            }
            catch (Exception ex)
            {
                launched.SetException(ex);
            }
        });
        return launched.Task;
    }

    public void Dispose()
    {
        // _stopping is not disposed: it has no timer, and late callers (a relay loop ending) may still read its token.
        _launches.CompleteAdding();
    }

    /// <summary>
    /// Runs <paramref name="work"/> (a graceful stop) on the thread pool, outside any grain turn, and keeps track of
    /// it until it ends. A grain may wait on the returned task for a while and then go on without it.
    /// </summary>
    public Task RunDetached(Func<Task> work)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await work();
            }
            catch (Exception ex)
            {
                LogDetachedFailed(_logger, ex);
            }
        });
        _detached.TryAdd(task, 0);
        _ = task.ContinueWith(t => _detached.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void RunLauncher()
    {
        foreach (var launch in _launches.GetConsumingEnumerable())
        {
            launch();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        var survivors = _running.Keys.ToArray();
        foreach (var process in survivors)
        {
            LogKillingSurvivor(_logger, process.Id);
            process.Kill();
        }

        foreach (var process in survivors)
        {
            await process.Exited.WaitAsync(cancellationToken);
        }

        // Stops already under way finish once their processes are gone.
        await Task.WhenAll(_detached.Keys).WaitAsync(cancellationToken).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "Stopping a media process failed")]
    private static partial void LogDetachedFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "Killing media process {ProcessId}, still running as the host stops")]
    private static partial void LogKillingSurvivor(ILogger logger, int processId);
}

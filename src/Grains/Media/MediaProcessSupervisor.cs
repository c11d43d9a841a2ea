using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LiveStream.Media;

/// <summary>
/// Tracks every media process this silo started and kills the survivors when the host stops. Registered before
/// the silo so it stops after it: grains get their graceful stop first, then nothing is left behind.
/// </summary>
public sealed partial class MediaProcessSupervisor(ILogger<MediaProcessSupervisor> logger) : IHostedService
{
    private readonly ConcurrentDictionary<IMediaProcess, byte> _running = new();

    /// <summary>Process ids of the media processes running now.</summary>
    public IReadOnlyList<int> RunningProcessIds => [.. _running.Keys.Select(p => p.Id)];

    internal void Track(IMediaProcess process) => _running.TryAdd(process, 0);

    internal void Untrack(IMediaProcess process) => _running.TryRemove(process, out _);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var survivors = _running.Keys.ToArray();
        foreach (var process in survivors)
        {
            LogKillingSurvivor(logger, process.Id);
            process.Kill();
        }

        foreach (var process in survivors)
        {
            await process.Exited.WaitAsync(cancellationToken);
        }
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "Killing media process {ProcessId}, still running as the host stops")]
    private static partial void LogKillingSurvivor(ILogger logger, int processId);
}

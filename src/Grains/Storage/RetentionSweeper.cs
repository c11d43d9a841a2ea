using LiveStream.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveStream.Storage;

/// <summary>
/// Removes sessions' files (archive and HLS folders) whose newest file is older than <c>Retention:Days</c>, every
/// <c>Retention:SweepInterval</c>. A live session writes all the time, so its folders are never that old. Each
/// silo sweeps the data folder it writes to; several silos sharing one folder sweep it each, harmlessly. A folder
/// that cannot be read or removed is logged and skipped; the sweep goes on with the others.
/// </summary>
internal sealed partial class RetentionSweeper(
    IOptions<RetentionOptions> retention,
    IOptions<LiveStreamOptions> liveStream,
    TimeProvider time,
    ILogger<RetentionSweeper> logger) : BackgroundService
{
    /// <summary>Removes a folder and everything in it (replaced in tests to make it fail).</summary>
    internal Action<string> DeleteFolder { get; init; } = folder => Directory.Delete(folder, recursive: true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (retention.Value.Days <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(retention.Value.SweepInterval, time);
        do
        {
            try
            {
                Sweep(time.GetUtcNow());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Removes what is past its retention at <paramref name="now"/>; returns how many folders went.</summary>
    public int Sweep(DateTimeOffset now)
    {
        var cutoff = now - TimeSpan.FromDays(retention.Value.Days);
        var removed = 0;
        foreach (var parent in new[] { Sessions.DataLayout.HlsFolder, Sessions.DataLayout.SessionsFolder }.Select(p => Path.Combine(liveStream.Value.FullDataPath, p)).Where(Directory.Exists))
        {
            foreach (var folder in Directory.EnumerateDirectories(parent))
            {
                try
                {
                    var newest = new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories)
                        .Select(f => (DateTimeOffset?)f.LastWriteTimeUtc)
                        .DefaultIfEmpty(Directory.GetLastWriteTimeUtc(folder))
                        .Max();
                    if (newest < cutoff)
                    {
                        DeleteFolder(folder);
                        LogRemoved(logger, Path.GetFileName(folder), Path.GetFileName(parent));
                        removed++;
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    LogSkipped(logger, ex, Path.GetFileName(folder), Path.GetFileName(parent));
                }
            }
        }

        return removed;
    }

    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Retention: removed the {Kind} files of session {SessionId}")]
    private static partial void LogRemoved(ILogger logger, string sessionId, string kind);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Retention: could not remove the {Kind} files of session {SessionId}; skipped until the next sweep")]
    private static partial void LogSkipped(ILogger logger, Exception exception, string sessionId, string kind);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Retention sweep failed; it runs again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}

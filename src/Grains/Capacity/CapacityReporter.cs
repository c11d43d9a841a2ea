using LiveStream.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveStream.Capacity;

/// <summary>Shares this silo's load with the registry every report interval and keeps the cluster view it answers.</summary>
internal sealed partial class CapacityReporter(
    SiloCapacity capacity,
    ClusterCapacityView view,
    IGrainFactory grains,
    ILocalSiloDetails localSilo,
    IOptions<AdmissionOptions> options,
    TimeProvider time,
    ILogger<CapacityReporter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ReportInterval;
        var maxAge = interval * 3;
        var silo = localSilo.SiloAddress.ToParsableString();
        var failing = false;
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                var loads = await grains.GetGrain<ICapacityRegistryGrain>(0)
                    .ReportAsync(capacity.Snapshot(silo, time.GetUtcNow()), maxAge)
                    .WaitAsync(interval * 2, stoppingToken);
                view.Set(loads);
                failing = false;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // Until the silo is up (or while the registry moves) placement uses what it knew: nothing is refused for it.
                if (!failing)
                {
                    LogReportFailed(logger, ex);
                }

                failing = true;
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 3900, Level = LogLevel.Debug, Message = "Could not share this silo's load; placement uses the last known loads")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}

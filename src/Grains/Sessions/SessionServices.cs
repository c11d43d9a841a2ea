using LiveStream.Capacity;
using LiveStream.Leases;
using LiveStream.Media;
using LiveStream.Options;
using LiveStream.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveStream.Sessions;

/// <summary>The silo's services a live session works with, injected once per silo and handed to each session.</summary>
internal sealed class SessionServices(
    IMediaProcessRunner runner,
    MediaProcessSupervisor supervisor,
    SimulcastContext simulcast,
    IOptions<LiveStreamOptions> liveStream,
    IOptions<SessionOptions> session,
    IOptions<LeaseOptions> lease,
    IOptions<RetentionOptions> retention,
    ILeaseStore leases,
    LeaseRenewals leaseRenewals,
    LiveStreamInstruments instruments,
    SiloCapacity capacity,
    TimeProvider time,
    ILogger<LiveSession> logger)
{
    public IMediaProcessRunner Runner => runner;

    public MediaProcessSupervisor Supervisor => supervisor;

    public SimulcastContext Simulcast => simulcast;

    public string DataPath => liveStream.Value.FullDataPath;

    public SessionOptions Session => session.Value;

    public LeaseOptions Lease => lease.Value;

    public RetentionOptions Retention => retention.Value;

    public ILeaseStore Leases => leases;

    public LeaseRenewals LeaseRenewals => leaseRenewals;

    public LiveStreamInstruments Instruments => instruments;

    public SiloCapacity Capacity => capacity;

    public TimeProvider Time => time;

    public ILogger Logger => logger;
}

using LiveStream.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveStream.Media;

/// <summary>What every session's simulcast needs from the silo (a singleton): the process runner, the supervisor, options, clock, logger.</summary>
public sealed class SimulcastContext(
    IMediaProcessRunner runner,
    MediaProcessSupervisor supervisor,
    IOptions<SimulcastOptions> options,
    TimeProvider time,
    Telemetry.LiveStreamInstruments instruments,
    ILogger<SimulcastContext> logger)
{
    internal IMediaProcessRunner Runner { get; } = runner;

    internal MediaProcessSupervisor Supervisor { get; } = supervisor;

    internal SimulcastOptions Options => options.Value;

    internal TimeProvider Time { get; } = time;

    internal ILogger Logger { get; } = logger;

    internal Telemetry.LiveStreamInstruments Instruments { get; } = instruments;
}

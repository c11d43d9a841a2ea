using System.Diagnostics;
using System.Diagnostics.Metrics;
using LiveStream.Telemetry;

namespace LiveStream.Gateway.Telemetry;

/// <summary>The gateway's instruments, on the project's meter and activity source (<see cref="TelemetryNames.LiveStream"/>).</summary>
public sealed class GatewayInstruments
{
    /// <summary>The project's activity source, as the gateway uses it.</summary>
    public static readonly ActivitySource ActivitySource = new(TelemetryNames.LiveStream);

    public GatewayInstruments(IMeterFactory meterFactory)
    {
        // The factory owns the meter (silos in the same process share it): it is not disposed here.
        var meter = meterFactory.Create(TelemetryNames.LiveStream);
        ChunkLatency = meter.CreateHistogram(
            "livestream.chunk.latency",
            unit: "s",
            description: "Gateway: from a chunk's last frame received to its commit acknowledged by the stream's grain (back-pressure waits included).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        Connections = meter.CreateCounter<long>("livestream.ingest.connections", description: "Ingest connections by outcome.");
    }

    /// <summary>From a chunk's last frame received to its commit acknowledged.</summary>
    public Histogram<double> ChunkLatency { get; }

    /// <summary>Ingest connections by outcome.</summary>
    public Counter<long> Connections { get; }
}

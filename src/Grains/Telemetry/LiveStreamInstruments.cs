using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LiveStream.Telemetry;

/// <summary>
/// The project's Meter and ActivitySource, both named <c>LiveStream</c>. Labels never carry a stream key; ids are
/// not used as labels either (unbounded cardinality) — they belong in traces and the session API.
/// </summary>
public sealed class LiveStreamInstruments : IDisposable
{
    /// <summary>Name of the meter and the activity source.</summary>
    public const string Name = "LiveStream";

    /// <summary>The project's activity source.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;

    public LiveStreamInstruments(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        SessionsActive = _meter.CreateUpDownCounter<long>("livestream.sessions.active", description: "Live sessions on this silo.");
        IngestBytes = _meter.CreateCounter<long>("livestream.ingest.bytes", unit: "By", description: "Bytes committed by sessions.");
        IngestChunks = _meter.CreateCounter<long>("livestream.ingest.chunks", description: "Chunks committed by sessions.");
        FfmpegProcesses = _meter.CreateUpDownCounter<long>("livestream.ffmpeg.processes", description: "FFmpeg processes running on this silo.");
        Connections = _meter.CreateCounter<long>("livestream.ingest.connections", description: "Ingest connections by outcome.");
        WebhooksDelivered = _meter.CreateCounter<long>("livestream.webhooks.delivered", description: "Webhook deliveries a receiver accepted.");
        WebhooksGivenUp = _meter.CreateCounter<long>("livestream.webhooks.given_up", description: "Webhook deliveries given up after their retries.");
        WebhooksDropped = _meter.CreateCounter<long>("livestream.webhooks.dropped", description: "Webhook deliveries dropped from a full queue.");
    }

    public UpDownCounter<long> SessionsActive { get; }

    public Counter<long> IngestBytes { get; }

    public Counter<long> IngestChunks { get; }

    public UpDownCounter<long> FfmpegProcesses { get; }

    public Counter<long> Connections { get; }

    public Counter<long> WebhooksDelivered { get; }

    public Counter<long> WebhooksGivenUp { get; }

    public Counter<long> WebhooksDropped { get; }

    public void Dispose() => _meter.Dispose();
}

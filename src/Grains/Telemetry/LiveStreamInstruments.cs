using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LiveStream.Sessions;

namespace LiveStream.Telemetry;

/// <summary>
/// The project's Meter and ActivitySource, both named <c>LiveStream</c>. Labels never carry a stream key; stream and
/// session ids are not labels either (every session would add series that never go away): they belong in traces,
/// logs and the session API. Labels are small closed sets (an outcome, a reason, an output type).
/// </summary>
public sealed class LiveStreamInstruments : IDisposable
{
    /// <summary>Name of the meter and the activity source.</summary>
    public const string Name = TelemetryNames.LiveStream;

    /// <summary>The project's activity source.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;

    // The live sessions of this silo, read by the session gauges at each collection; the grains own them.
    private readonly ConcurrentDictionary<SessionTracking, byte> _sessions = new();

    public LiveStreamInstruments(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        _meter.CreateObservableGauge("livestream.sessions.active", () => CountSessions(SessionState.Active), description: "Live sessions on this silo whose publisher is connected.");
        _meter.CreateObservableGauge("livestream.sessions.disconnected", () => CountSessions(SessionState.Disconnected), description: "Live sessions on this silo waiting in their reconnect window.");
        IngestBytes = _meter.CreateCounter<long>("livestream.ingest.bytes", unit: "By", description: "Bytes committed by sessions.");
        IngestChunks = _meter.CreateCounter<long>("livestream.ingest.chunks", description: "Chunks committed by sessions.");
        Reconnects = _meter.CreateCounter<long>("livestream.reconnects", description: "Publishers that came back to a session within its reconnect window.");
        PublishersSuperseded = _meter.CreateCounter<long>("livestream.publishers.superseded", description: "Publishers closed because a newer one took their session over.");
        FfmpegProcesses = _meter.CreateUpDownCounter<long>("livestream.ffmpeg.processes", description: "FFmpeg processes running on this silo, by role (encoder, relay).");
        FfmpegRestarts = _meter.CreateCounter<long>("livestream.ffmpeg.restarts", description: "Sessions' FFmpeg started again, by reason (exited: it died; recording: the publisher started a new recording).");
        OutputFailures = _meter.CreateCounter<long>("livestream.output.failures", description: "Output processes that exited unexpectedly, by output (ffmpeg: a session's encoder; rtmp: a target's relay).");
        SessionBufferedBytes = _meter.CreateHistogram(
            "livestream.session.buffered_bytes",
            unit: "By",
            description: "Each live session's bytes committed but not yet written to FFmpeg, sampled every session tick.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [0, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 8_388_608, 16_777_216, 67_108_864, 268_435_456] });
        SessionFps = _meter.CreateHistogram(
            "livestream.session.fps",
            unit: null,
            description: "Each live session's FFmpeg output frame rate in frames per second, sampled every session tick (sessions with FFmpeg progress only).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 1, 5, 10, 15, 20, 24, 25, 30, 50, 60] });
        SessionIngestBitrate = _meter.CreateHistogram(
            "livestream.session.ingest_bitrate",
            unit: null,
            description: "Each live session's committed ingest bitrate in bits per second, sampled every session tick.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [0, 100_000, 250_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000] });
        WebhooksDelivered = _meter.CreateCounter<long>("livestream.webhooks.delivered", description: "Webhook deliveries a receiver accepted.");
        WebhooksGivenUp = _meter.CreateCounter<long>("livestream.webhooks.given_up", description: "Webhook deliveries given up after their retries.");
        WebhooksDropped = _meter.CreateCounter<long>("livestream.webhooks.dropped", description: "Webhook deliveries dropped from a full queue.");
    }

    public Counter<long> IngestBytes { get; }

    public Counter<long> IngestChunks { get; }

    public Counter<long> Reconnects { get; }

    public Counter<long> PublishersSuperseded { get; }

    public UpDownCounter<long> FfmpegProcesses { get; }

    public Counter<long> FfmpegRestarts { get; }

    public Counter<long> OutputFailures { get; }

    public Histogram<long> SessionBufferedBytes { get; }

    public Histogram<double> SessionFps { get; }

    public Histogram<long> SessionIngestBitrate { get; }

    public Counter<long> WebhooksDelivered { get; }

    public Counter<long> WebhooksGivenUp { get; }

    public Counter<long> WebhooksDropped { get; }

    /// <summary>
    /// Counts a live session in the session gauges until the returned handle is disposed; <paramref name="state"/>
    /// is read at each collection (active or disconnected).
    /// </summary>
    public IDisposable TrackSession(Func<SessionState> state)
    {
        var tracking = new SessionTracking(this, state);
        _sessions.TryAdd(tracking, 0);
        return tracking;
    }

    public void Dispose() => _meter.Dispose();

    private long CountSessions(SessionState state) => _sessions.Keys.Count(s => s.State() == state);

    private sealed class SessionTracking(LiveStreamInstruments owner, Func<SessionState> state) : IDisposable
    {
        public Func<SessionState> State { get; } = state;

        public void Dispose() => owner._sessions.TryRemove(this, out _);
    }
}

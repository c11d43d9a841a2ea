using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace LiveStream.Testing.Load;

/// <summary>
/// Counters and timings of a load run. Counters are shared (interlocked); timings are kept per publisher, without
/// locks, and merged when the summary is taken.
/// </summary>
public sealed class LoadStats
{
    private readonly ConcurrentDictionary<string, int> _closes = new();
    private readonly ConcurrentBag<PublisherTimings> _timings = [];
    private long _bytesSent;
    private long _bytesAcked;
    private long _chunksSent;
    private long _drops;
    private long _connects;

    /// <summary>Payload bytes sent (resends included).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Bytes newly acknowledged (each byte of a stream once).</summary>
    public long BytesAcked => Interlocked.Read(ref _bytesAcked);

    public long ChunksSent => Interlocked.Read(ref _chunksSent);

    /// <summary>Drops the run injected.</summary>
    public long Drops => Interlocked.Read(ref _drops);

    /// <summary>Accepted connections (hello received; in raw mode, upgrade done).</summary>
    public long Connects => Interlocked.Read(ref _connects);

    /// <summary>Closes seen by publishers, by close code (or <c>connect: …</c> for a failed upgrade); expected ones are prefixed.</summary>
    public IReadOnlyDictionary<string, int> Closes => _closes;

    /// <summary>Closes that were neither the end of a run (1000 after <c>end</c>) nor a duplicate's takeover (4409).</summary>
    public IEnumerable<KeyValuePair<string, int>> Errors => _closes.Where(c => !c.Key.StartsWith("expected ", StringComparison.Ordinal));

    internal void Sent(int bytes)
    {
        Interlocked.Add(ref _bytesSent, bytes);
        Interlocked.Increment(ref _chunksSent);
    }

    internal void Acked(long bytes) => Interlocked.Add(ref _bytesAcked, bytes);

    internal void Dropped() => Interlocked.Increment(ref _drops);

    internal void Connected() => Interlocked.Increment(ref _connects);

    internal void Closed(string what) => _closes.AddOrUpdate(what, 1, (_, n) => n + 1);

    internal PublisherTimings NewTimings()
    {
        var timings = new PublisherTimings();
        _timings.Add(timings);
        return timings;
    }

    /// <summary>Ack latency: a chunk's send → the first ack that covers it, ms.</summary>
    public Percentiles AckLatency() => Percentiles.Of(_timings.SelectMany(t => t.AckMs));

    /// <summary>Socket reopened after a drop → its upgrade done (connect returned), ms.</summary>
    public Percentiles ReconnectToUpgrade() => Percentiles.Of(_timings.SelectMany(t => t.ReconnectUpgradeMs));

    /// <summary>Socket reopened after a drop → its <c>hello</c>, ms.</summary>
    public Percentiles ReconnectToHello() => Percentiles.Of(_timings.SelectMany(t => t.ReconnectHelloMs));

    /// <summary>Socket reopened after a drop → the first ack of a byte sent on it (the first accepted byte), ms.</summary>
    public Percentiles ReconnectToAck() => Percentiles.Of(_timings.SelectMany(t => t.ReconnectAckMs));

    /// <summary>A line per counter and timing, for a console.</summary>
    public string Describe(TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture, $"""
        sent {BytesSent / 1e6:0.0} MB in {ChunksSent} chunks, acked {BytesAcked / 1e6:0.0} MB ({BytesAcked * 8 / 1e6 / elapsed.TotalSeconds:0.0} Mbit/s over {elapsed.TotalSeconds:0.0} s)
        ack latency ms: {AckLatency()}
        connects {Connects}, drops {Drops}; reconnect→upgrade ms: {ReconnectToUpgrade()}; reconnect→hello ms: {ReconnectToHello()}; reconnect→first ack ms: {ReconnectToAck()}
        closes: {string.Join(", ", _closes.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} ×{c.Value}"))}
        """);

    /// <summary>One publisher's timings: written by its own send and receive loops only (acks under the pending lock).</summary>
    internal sealed class PublisherTimings
    {
        public List<double> AckMs { get; } = [];

        public List<double> ReconnectUpgradeMs { get; } = [];

        public List<double> ReconnectHelloMs { get; } = [];

        public List<double> ReconnectAckMs { get; } = [];

        public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
    }
}

/// <summary>Nearest-rank percentiles of a set of timings, in ms.</summary>
public sealed record Percentiles(int Count, double P50, double P95, double P99, double Max)
{
    public static Percentiles Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return new Percentiles(0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        double At(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Percentiles(sorted.Length, At(0.50), At(0.95), At(0.99), sorted[^1]);
    }

    public override string ToString() => Count == 0
        ? "none"
        : string.Create(CultureInfo.InvariantCulture, $"p50 {P50:0.0}, p95 {P95:0.0}, p99 {P99:0.0}, max {Max:0.0} (n={Count})");
}

using LiveStream.Gateway.Options;
using LiveStream.Timing;
using Microsoft.Extensions.Options;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// The idle check of every connection of the gateway, on one clock: every quarter of <c>IdleTimeout</c> (at least
/// 100 ms) each connection that has waited <c>IdleTimeout</c> for a message is closed with 4408. A delay loop per
/// connection woke the process once per check per connection; this is one wake-up per check, none without connections.
/// </summary>
internal sealed class IdleWatch(IOptions<IngestOptions> options, TimeProvider time) : IDisposable
{
    private readonly SharedClock<IngestConnection> _clock = new(CheckInterval(options.Value), time, static connection => connection.CloseIfIdle());

    /// <summary>The connections watched now.</summary>
    public int Count => _clock.Count;

    public static TimeSpan CheckInterval(IngestOptions options) =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 100, options.IdleTimeout.Ticks / 4));

    public void Add(IngestConnection connection) => _clock.Add(connection);

    public void Remove(IngestConnection connection) => _clock.Remove(connection);

    public void Dispose() => _clock.Dispose();
}

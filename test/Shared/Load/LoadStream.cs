using System.Collections.Concurrent;

namespace LiveStream.Testing.Load;

/// <summary>A stream to publish to: its id (null when the target has no API), ingest URL, and whether its archive is checked.</summary>
public sealed record LoadStream(string? Id, Uri IngestUrl, bool Sampled);

/// <summary>What the publishers of one stream saw, shared between a stream's publishers (a duplicate and the one it took over).</summary>
public sealed class StreamProgress(LoadStream stream)
{
    private long _acked;
    private long _sent;

    public LoadStream Stream { get; } = stream;

    /// <summary>Every session id a <c>hello</c> named for this stream.</summary>
    public ConcurrentDictionary<string, int> Sessions { get; } = new();

    /// <summary>The highest offset the server acknowledged.</summary>
    public long Acked => Interlocked.Read(ref _acked);

    /// <summary>The highest offset sent.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Raises <see cref="Acked"/>; returns how many bytes are newly acknowledged.</summary>
    internal long Ack(long offset) => RaiseTo(ref _acked, offset);

    internal void SentTo(long offset) => RaiseTo(ref _sent, offset);

    private static long RaiseTo(ref long field, long value)
    {
        while (true)
        {
            var current = Interlocked.Read(ref field);
            if (value <= current)
            {
                return 0;
            }

            if (Interlocked.CompareExchange(ref field, value, current) == current)
            {
                return value - current;
            }
        }
    }
}

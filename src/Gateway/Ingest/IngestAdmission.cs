using System.Net;
using System.Threading.RateLimiting;
using LiveStream.Gateway.Options;
using Microsoft.Extensions.Options;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// Who may open an ingest connection: at most <c>ConnectionsPerWindow</c> new connections per client IP per
/// <c>ConnectionWindow</c> (sliding; HTTP 429 before the upgrade), and, when configured, only pages of the allowed
/// origins (4403). Idle per-IP limiters are dropped by the rate limiter itself, so memory stays bounded by the
/// addresses seen within a window.
/// </summary>
internal sealed class IngestAdmission : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _connections;
    private readonly HashSet<string> _origins;
    private readonly bool _requireOrigin;
    private readonly int _ipv6Prefix;
    private readonly int _maxPending;
    private int _pending;

    public IngestAdmission(IOptions<IngestOptions> options)
    {
        var ingest = options.Value;
        Window = ingest.ConnectionWindow;
        _connections = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetSlidingWindowLimiter(
            address,
            _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = ingest.ConnectionsPerWindow,
                Window = ingest.ConnectionWindow,
                SegmentsPerWindow = 5,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        _origins = new HashSet<string>(ingest.AllowedOrigins.Select(Normalize).OfType<string>(), StringComparer.Ordinal);
        _requireOrigin = ingest.RequireOrigin;
        _ipv6Prefix = ingest.IPv6PrefixLength;
        _maxPending = ingest.MaxPendingHandshakes;
    }

    /// <summary>Ingest requests waiting for their key lookup now.</summary>
    public int PendingHandshakes => Volatile.Read(ref _pending);

    /// <summary>The window a refused client is told to wait (Retry-After).</summary>
    public TimeSpan Window { get; }

    /// <summary>Counts a new connection of <paramref name="client"/>; false when it is over its limit.</summary>
    public bool TryAdmit(IPAddress? client)
    {
        using var lease = _connections.AttemptAcquire(Partition(client));
        return lease.IsAcquired;
    }

    /// <summary>
    /// Takes one of <c>MaxPendingHandshakes</c> places for a request about to look its key up; false when all are
    /// taken. A place taken must be given back with <see cref="EndHandshake"/>.
    /// </summary>
    public bool TryBeginHandshake()
    {
        if (Interlocked.Increment(ref _pending) <= _maxPending)
        {
            return true;
        }

        Interlocked.Decrement(ref _pending);
        return false;
    }

    public void EndHandshake() => Interlocked.Decrement(ref _pending);

    /// <summary>What one client is: its IPv4 address, or its IPv6 network of <c>IPv6PrefixLength</c> bits.</summary>
    internal IPAddress Partition(IPAddress? client)
    {
        if (client is null)
        {
            return IPAddress.None;
        }

        if (client.IsIPv4MappedToIPv6)
        {
            return client.MapToIPv4();
        }

        if (client.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || _ipv6Prefix >= 128)
        {
            return client;
        }

        Span<byte> bytes = stackalloc byte[16];
        client.TryWriteBytes(bytes, out _);
        for (var bit = _ipv6Prefix; bit < 128; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes);
    }

    /// <summary>True when a page of <paramref name="origin"/> (the Origin header, null when absent) may publish.</summary>
    public bool OriginAllowed(string? origin)
    {
        if (string.IsNullOrEmpty(origin))
        {
            return !_requireOrigin;
        }

        return _origins.Count == 0 || (Normalize(origin) is { } normalized && _origins.Contains(normalized));
    }

    public void Dispose() => _connections.Dispose();

    /// <summary><c>scheme://host:port</c> in lower case with the port spelled out, or null for no origin.</summary>
    private static string? Normalize(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? $"{uri.Scheme}://{uri.IdnHost.ToLowerInvariant()}:{uri.Port}"
            : null;
}

namespace LiveStream.Gateway.Options;

/// <summary>Limits of the WebSocket ingest endpoint (section <c>LiveStream:Ingest</c>).</summary>
public sealed class IngestOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Ingest";

    /// <summary>Largest binary message accepted; larger ones close the socket with 1009. Default 4 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Receive buffer rented while a message arrives (an idle connection holds none); messages that do not fit grow a pooled buffer up to <see cref="MaxMessageBytes"/>. Default 64 KiB.</summary>
    public int ReceiveBufferBytes { get; set; } = 64 * 1024;

    /// <summary>Longest wait between retries while a session's buffer is full (the socket is not read meanwhile). Default 200 ms.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Timeout of the gateway's grain calls (Orleans' client <c>ResponseTimeout</c>, 30 s by default). A call in
    /// flight to a silo that dies waits this long before it is retried. Default 10 s.
    /// </summary>
    public TimeSpan GrainCallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the gateway waits for one attempt of a chunk write or disconnect before it sends it again. A write
    /// normally answers in milliseconds (a full buffer answers at once); one in flight to a silo that died would
    /// otherwise wait for <see cref="GrainCallTimeout"/>. Writes carry their offsets, so an attempt that landed after
    /// all is trimmed by the grain, never doubled. Default 1 s.
    /// </summary>
    public TimeSpan WriteAttemptTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a chunk write or disconnect is retried after transient cluster failures (a timed-out attempt, a silo
    /// that went away) before the publisher is closed with 1011. Covers a failover: membership declaring the dead silo
    /// dead and the stream's lease expiring. Default 30 s.
    /// </summary>
    public TimeSpan WriteRetryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a standalone gateway reads the list of live silos (Orleans' <c>GatewayListRefreshPeriod</c>, 1 min by
    /// default). A silo that stops answering without closing its connections (paused, partitioned) is dropped from
    /// the gateway's routes only when a read shows it declared dead; until then retried writes may go to it again.
    /// Default 2 s.
    /// </summary>
    public TimeSpan SiloListRefresh { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>WebSocket keep-alive ping interval. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a gateway keeps a key hash → stream id lookup (0: no cache). A rotated or revoked key is refused by
    /// the stream's grain whatever the cache says. Default 5 s.
    /// </summary>
    public int KeyCacheSeconds { get; set; } = 5;

    /// <summary>
    /// How long a gateway remembers that a key hash is unknown, so a flood of made-up or revoked keys costs one
    /// directory lookup per key per period, not one per connection (0–60; 0: not remembered). A stream created through
    /// this gateway is found at once; through another gateway, within this period. Default 2 s.
    /// </summary>
    public int UnknownKeyCacheSeconds { get; set; } = 2;

    /// <summary>
    /// Most ingest requests this gateway lets wait for their key to be looked up at once; more get HTTP 503 with
    /// Retry-After before any lookup. Default 1000.
    /// </summary>
    public int MaxPendingHandshakes { get; set; } = 1000;

    /// <summary>
    /// IPv6 clients are limited by <see cref="ConnectionsPerWindow"/> per network of this prefix length, not per address
    /// (one host usually holds a whole /64). Default 64.
    /// </summary>
    public int IPv6PrefixLength { get; set; } = 64;

    /// <summary>
    /// Origins (<c>scheme://host[:port]</c>) whose pages may publish. When the list is set, a connection whose
    /// <c>Origin</c> header is not in it is closed with 4403. Empty (the default): any origin.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>A connection without an <c>Origin</c> header (not from a browser) is closed with 4403. Default false.</summary>
    public bool RequireOrigin { get; set; }

    /// <summary>New ingest connections one client IP may open per <see cref="ConnectionWindow"/>; more get HTTP 429 before the upgrade. Default 20.</summary>
    public int ConnectionsPerWindow { get; set; } = 20;

    /// <summary>The window of <see cref="ConnectionsPerWindow"/>. Default 10 s.</summary>
    public TimeSpan ConnectionWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Proxies (IP addresses, or networks as <c>10.0.0.0/8</c>) whose <c>X-Forwarded-For</c> and
    /// <c>X-Forwarded-Proto</c> are believed. Empty (the default): the socket's peer is the client.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>Largest ingest bitrate, averaged over <see cref="BitrateWindow"/>; above it the socket is closed with 4429. Resent bytes do not count. Default 20 Mbit/s.</summary>
    public long MaxBitsPerSecond { get; set; } = 20_000_000;

    /// <summary>The window <see cref="MaxBitsPerSecond"/> is averaged over. Default 10 s.</summary>
    public TimeSpan BitrateWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection that sends no message for this long is closed with 4408 (its session waits in its reconnect window). Default 15 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Longest time a client may take to send its request headers (the WebSocket handshake included): Kestrel's
    /// <c>RequestHeadersTimeout</c>. A slower client is cut off alone. Default 10 s.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

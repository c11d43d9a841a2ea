namespace LiveStream.Gateway.Options;

/// <summary>Limits of the WebSocket ingest endpoint (section <c>LiveStream:Ingest</c>).</summary>
public sealed class IngestOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Ingest";

    /// <summary>Largest binary message accepted; larger ones close the socket with 1009. Default 4 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Receive buffer rented per connection; messages that do not fit grow a pooled buffer up to <see cref="MaxMessageBytes"/>. Default 64 KiB.</summary>
    public int ReceiveBufferBytes { get; set; } = 64 * 1024;

    /// <summary>Longest wait between retries while a session's buffer is full (the socket is not read meanwhile). Default 200 ms.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Timeout of the gateway's grain calls (Orleans' client <c>ResponseTimeout</c>, 30 s by default). A call in
    /// flight to a silo that dies waits this long before it is retried. Default 10 s.
    /// </summary>
    public TimeSpan GrainCallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of a chunk write or disconnect that failed with a transient cluster error (offsets make them idempotent). Default 3.</summary>
    public int GrainCallRetries { get; set; } = 3;

    /// <summary>WebSocket keep-alive ping interval. Default 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a gateway keeps a key hash → stream id lookup (0: no cache). A rotated or revoked key is refused by
    /// the stream's grain whatever the cache says. Default 5 s.
    /// </summary>
    public int KeyCacheSeconds { get; set; } = 5;

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

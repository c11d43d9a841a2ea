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
}

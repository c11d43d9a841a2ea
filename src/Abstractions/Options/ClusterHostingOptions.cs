namespace LiveStream.Options;

/// <summary>Where the Orleans cluster lives (section <c>LiveStream:Cluster</c>). Redis clustering is used when <c>ConnectionStrings:Redis</c> is set.</summary>
public sealed class ClusterHostingOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Cluster";

    /// <summary>Orleans cluster id. Default <c>livestream</c>.</summary>
    public string ClusterId { get; set; } = "livestream";

    /// <summary>Orleans service id. Default <c>livestream</c>.</summary>
    public string ServiceId { get; set; } = "livestream";

    /// <summary>Silo-to-silo port. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port clients (gateways) connect to. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>With localhost clustering, the silo port of the primary silo (0: this silo is the primary). Default 0.</summary>
    public int PrimarySiloPort { get; set; }

    /// <summary>
    /// Address this silo advertises with Redis clustering: other silos and the gateways connect to it. Default
    /// <c>127.0.0.1</c>. In a container, set it to the container's own address. Under Kubernetes (Redis clustering
    /// and <c>KUBERNETES_SERVICE_HOST</c> set) the silo advertises its pod's <c>POD_IP</c> instead, and this address
    /// only when <c>POD_IP</c> is unset.
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// With Redis clustering, listen on <see cref="SiloPort"/> and <see cref="GatewayPort"/> on every address of
    /// the machine instead of on <see cref="AdvertisedAddress"/> only; the silo still advertises
    /// <see cref="AdvertisedAddress"/>. Default <c>false</c>. Set it in containers (the silo image does). Under
    /// Kubernetes the silo always listens on every address.
    /// </summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>
    /// Run a socket operation's continuation on the thread that completed it instead of handing it to another
    /// thread-pool thread: Orleans' connections send on the thread that queued the message (silo and gateway), and
    /// the gateway's Kestrel runs a WebSocket read, and sends its ack, on the thread that completed the socket
    /// operation. Each hand-off that finds the pool asleep is a thread wake-up: at 50 publishers the cluster path
    /// took 4–10% less CPU with it in side-by-side runs, at 2,000 the same (docs/performance.md). Set <c>false</c> to
    /// keep the hand-offs (for a host whose request handlers block). Default <c>true</c>.
    /// </summary>
    public bool InlineSocketScheduling { get; set; } = true;
}

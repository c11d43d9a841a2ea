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

    /// <summary>Address this silo advertises with Redis clustering. Default <c>127.0.0.1</c>.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";
}

namespace LiveStream.Gateway.Options;

/// <summary>How the gateway process runs (section <c>LiveStream:Gateway</c>).</summary>
public sealed class GatewayHostingOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Gateway";

    /// <summary>
    /// Co-host a silo in this process: the embedded default (one process, localhost clustering). Set false for a
    /// stateless gateway that connects to separate silos as an Orleans client. Default true.
    /// </summary>
    public bool HostSilo { get; set; } = true;

    /// <summary>Serve <c>/hls/{sessionId}/…</c> from the data folder (needs the silo's data folder on this machine). Default true.</summary>
    public bool ServeHls { get; set; } = true;

    /// <summary>Serve the Go Live page at <c>/</c>, the browser client at <c>/client/livestream.js</c> and the operations page at <c>/ops</c>. Default true.</summary>
    public bool ServeClient { get; set; } = true;

    /// <summary>
    /// Where the gateway serves Prometheus' <c>/metrics</c>: a listener of its own beside the public one, such as
    /// <c>http://0.0.0.0:9464</c>, so the public port never serves it. Empty (the default): this gateway serves no
    /// <c>/metrics</c>. <c>./run.sh</c> sets <c>http://127.0.0.1:9464</c>. Not used when Kestrel endpoints are configured
    /// under <c>Kestrel:Endpoints</c> (add one for it there).
    /// </summary>
    public string? MetricsUrl { get; set; }

    /// <summary>The port of <see cref="MetricsUrl"/>, or null when the gateway serves no metrics.</summary>
    public int? MetricsPort => string.IsNullOrWhiteSpace(MetricsUrl) ? null : new Uri(MetricsUrl).Port;
}

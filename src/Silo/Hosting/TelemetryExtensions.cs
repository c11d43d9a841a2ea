using LiveStream.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace LiveStream.Hosting;

/// <summary>
/// OpenTelemetry for every process: the LiveStream meter and activity source beside Orleans' own, a Prometheus
/// scrape endpoint at <c>/metrics</c>, and OTLP export when configured.
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Path of the Prometheus scrape endpoint on every process.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The activity sources whose spans are exported: LiveStream's own and Orleans'.</summary>
    public static readonly IReadOnlyList<string> TracedSources =
        [LiveStreamInstruments.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Microsoft.Orleans.Lifecycle", "Microsoft.Orleans.Storage"];

    /// <summary>Setting that turns on grain call spans for a host that exports spans its own way.</summary>
    public const string GrainCallSpansKey = "LiveStream:Telemetry:GrainCallSpans";

    /// <summary>True when spans are exported (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set).</summary>
    public static bool ExportsTraces(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>
    /// True when grain calls carry the caller's trace (Orleans' activity propagation): when spans are exported, or
    /// when <see cref="GrainCallSpansKey"/> is true. The propagation is a grain call filter on each side, and any
    /// filter sends every call through Orleans' filter pipeline (its invoker objects and state machines: about a
    /// quarter of the gateway's allocation per chunk), spans or not; without an exporter nothing would see them.
    /// </summary>
    public static bool TracesGrainCalls(IConfiguration configuration) =>
        ExportsTraces(configuration) || configuration.GetValue<bool>(GrainCallSpansKey);

    /// <summary>
    /// Adds metrics and tracing; exports over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Without an
    /// exporter nothing listens to the traced sources, so no span is made at all: each chunk would otherwise cost a
    /// few spans on each side of the hop that nobody could see. A host that exports spans its own way adds the
    /// sources (<see cref="TracedSources"/>) with its exporter.
    /// </summary>
    public static IHostApplicationBuilder AddLiveStreamTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<LiveStreamInstruments>();
        var exporting = ExportsTraces(builder.Configuration);
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter(LiveStreamInstruments.Name, "Microsoft.Orleans").AddPrometheusExporter())
            .WithTracing(tracing =>
            {
                tracing.AddProcessor(new SecretRedactingProcessor());
                if (exporting)
                {
                    tracing.AddSource([.. TracedSources]);
                }
            });
        if (exporting)
        {
            // The standard OTEL_TRACES_SAMPLER variables choose the sampler (parent-based, always on by default).
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>
    /// Maps the Prometheus scrape endpoint, <c>/metrics</c>; with <paramref name="hosts"/> (such as <c>*:9464</c>) only
    /// requests to those hosts and ports reach it.
    /// </summary>
    public static IEndpointRouteBuilder MapLiveStreamMetrics(this IEndpointRouteBuilder endpoints, params string[] hosts)
    {
        var endpoint = endpoints.MapPrometheusScrapingEndpoint(MetricsPath);
        if (hosts.Length > 0)
        {
            endpoint.RequireHost(hosts);
        }

        return endpoints;
    }

}

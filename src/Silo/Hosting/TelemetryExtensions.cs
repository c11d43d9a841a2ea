using LiveStream.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
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

    /// <summary>Adds metrics and tracing; exports over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. </summary>
    public static IHostApplicationBuilder AddLiveStreamTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<LiveStreamInstruments>();
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter(LiveStreamInstruments.Name, "Microsoft.Orleans").AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .AddSource(LiveStreamInstruments.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Microsoft.Orleans.Lifecycle", "Microsoft.Orleans.Storage")
                .AddProcessor(new SecretRedactingProcessor()));
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
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

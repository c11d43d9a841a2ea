using LiveStream.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace LiveStream.Hosting;

/// <summary>OpenTelemetry for every process: the LiveStream meter and activity source beside Orleans' own.</summary>
public static class TelemetryExtensions
{
    /// <summary>Adds metrics and tracing; exports over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Safe to call twice.</summary>
    public static IHostApplicationBuilder AddLiveStreamTelemetry(this IHostApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(TelemetryMarker)))
        {
            return builder;
        }

        builder.Services.AddSingleton<TelemetryMarker>();
        builder.Services.TryAddSingleton<LiveStreamInstruments>();
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter(LiveStreamInstruments.Name, "Microsoft.Orleans"))
            .WithTracing(tracing => tracing
                .AddSource(LiveStreamInstruments.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddProcessor(new SecretRedactingProcessor()));
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Marks that telemetry was added, so a second call does nothing.</summary>
    private sealed class TelemetryMarker;
}

using System.Diagnostics;
using LiveStream.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace LiveStream.Gateway.Tests;

/// <summary>Spans cost CPU per chunk on both sides of the hop: they are made only when something exports them.</summary>
[Collection(TracingCostCollection.Name)]
public sealed class TracingCostTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("http://127.0.0.1:4317", true)]
    public async Task Spans_are_made_only_when_an_exporter_is_configured(string? otlpEndpoint, bool made)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint;
        builder.AddLiveStreamTelemetry();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            _ = host.Services.GetRequiredService<TracerProvider>();

            var spans = TelemetryExtensions.TracedSources.Select(name =>
            {
                using var source = new ActivitySource(name);
                using var span = source.StartActivity("livestream.stream/WriteAsync", ActivityKind.Client);
                return span is not null;
            });

            Assert.All(spans, s => Assert.Equal(made, s));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}

/// <summary>
/// Runs alone: a listener is process-wide, and other tests' hosts listen to the same sources with exporters of
/// their own while they run.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingCostCollection
{
    public const string Name = "tracing cost";
}

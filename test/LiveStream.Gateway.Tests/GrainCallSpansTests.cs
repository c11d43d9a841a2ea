using LiveStream.Gateway.Hosting;
using LiveStream.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// Orleans' activity propagation (a grain call filter on each side) is added only when grain call spans can be
/// seen: any filter sends every call, chunk writes included, through Orleans' filter pipeline. The hosts are built,
/// never started.
/// </summary>
public sealed class GrainCallSpansTests
{
    public static TheoryData<string?, string?, bool> Cases => new()
    {
        { null, null, false },
        { "http://127.0.0.1:4317", null, true },
        { null, "true", true },
        { null, "false", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_silo_filters_grain_calls_only_when_their_spans_are_exported(string? otlpEndpoint, string? grainCallSpans, bool filtered)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(Settings(otlpEndpoint, grainCallSpans));
        builder.AddLiveStreamSilo();
        using var host = builder.Build();

        Assert.Equal(filtered, host.Services.GetServices<IIncomingGrainCallFilter>().Any());
        Assert.Equal(filtered, host.Services.GetServices<IOutgoingGrainCallFilter>().Any());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_standalone_gateway_filters_grain_calls_only_when_their_spans_are_exported(string? otlpEndpoint, string? grainCallSpans, bool filtered)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(Settings(otlpEndpoint, grainCallSpans));
        builder.Configuration["LiveStream:Gateway:HostSilo"] = "false";
        builder.AddLiveStreamGateway();
        using var app = builder.Build();

        Assert.Equal(filtered, app.Services.GetServices<IOutgoingGrainCallFilter>().Any());
    }

    private static Dictionary<string, string?> Settings(string? otlpEndpoint, string? grainCallSpans) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint,
        [TelemetryExtensions.GrainCallSpansKey] = grainCallSpans,
    };
}

using System.Net;
using LiveStream.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting.Kubernetes;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// Which address a Redis-clustered silo advertises and listens on. The host is built, never started, so nothing
/// connects to Redis or to a Kubernetes API server.
/// </summary>
public sealed class SiloEndpointsTests
{
    [Fact]
    public void A_redis_silo_advertises_the_configured_address_and_listens_on_it_only_by_default()
    {
        var endpoints = SiloEndpoints(new() { ["LiveStream:Cluster:AdvertisedAddress"] = "172.28.0.11" });

        Assert.Equal(IPAddress.Parse("172.28.0.11"), endpoints.AdvertisedIPAddress);
        Assert.Null(endpoints.SiloListeningEndpoint);
        Assert.Null(endpoints.GatewayListeningEndpoint);
    }

    [Fact]
    public void ListenOnAnyAddress_keeps_the_advertised_address_and_listens_on_every_address()
    {
        var endpoints = SiloEndpoints(new()
        {
            ["LiveStream:Cluster:AdvertisedAddress"] = "172.28.0.11",
            ["LiveStream:Cluster:ListenOnAnyAddress"] = "true",
            ["LiveStream:Cluster:SiloPort"] = "11112",
            ["LiveStream:Cluster:GatewayPort"] = "30001",
        });

        Assert.Equal(IPAddress.Parse("172.28.0.11"), endpoints.AdvertisedIPAddress);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 11112), endpoints.SiloListeningEndpoint);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 30001), endpoints.GatewayListeningEndpoint);
    }

    [Fact]
    public void In_a_kubernetes_pod_the_silo_advertises_its_pod_ip_and_listens_on_every_address()
    {
        using var host = BuildSilo(new()
        {
            [SiloHostingExtensions.KubernetesServiceHostKey] = "10.96.0.1",
            [KubernetesHostingOptions.PodIPEnvironmentVariable] = "10.244.1.7",
            ["LiveStream:Cluster:AdvertisedAddress"] = "172.28.0.11",
        });
        var endpoints = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;

        Assert.Equal(IPAddress.Parse("10.244.1.7"), endpoints.AdvertisedIPAddress);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 11111), endpoints.SiloListeningEndpoint);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 30000), endpoints.GatewayListeningEndpoint);
        Assert.NotEmpty(host.Services.GetServices<IValidateOptions<KubernetesHostingOptions>>());
    }

    [Fact]
    public void Outside_kubernetes_no_kubernetes_hosting_is_added_even_when_POD_IP_is_set()
    {
        using var host = BuildSilo(new()
        {
            [KubernetesHostingOptions.PodIPEnvironmentVariable] = "10.244.1.7",
            ["LiveStream:Cluster:AdvertisedAddress"] = "172.28.0.12",
        });

        Assert.Equal(IPAddress.Parse("172.28.0.12"), host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value.AdvertisedIPAddress);
        Assert.Empty(host.Services.GetServices<IValidateOptions<KubernetesHostingOptions>>());
    }

    private static EndpointOptions SiloEndpoints(Dictionary<string, string?> settings)
    {
        using var host = BuildSilo(settings);
        return host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
    }

    private static IHost BuildSilo(Dictionary<string, string?> settings)
    {
        // No defaults: the machine's own environment (a CI runner inside a pod sets KUBERNETES_SERVICE_HOST) stays out.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        settings["ConnectionStrings:Redis"] = "127.0.0.1:1";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddLiveStreamSilo();
        return builder.Build();
    }
}

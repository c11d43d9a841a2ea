using LiveStream.Gateway.Hosting;
using LiveStream.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Orleans.Networking.Shared;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// Orleans' connections and message serializer use kept 64 KiB blocks, in a silo and in a standalone gateway's
/// client. The hosts are built, never started.
/// </summary>
public sealed class OrleansSocketBlocksTests
{
    [Fact]
    public void This_Orleans_version_lets_the_pool_of_its_socket_connections_be_set()
    {
        // Set by name (Orleans keeps it internal): an Orleans upgrade that renames it fails here, not silently.
        Assert.True(OrleansSocketBlocks.Available);
        Assert.IsNotType<SocketBlockPool>(OrleansSocketBlocks.ListenerPoolOf(new SocketConnectionOptions()));
    }

    [Fact]
    public void A_silos_connections_and_message_serializer_use_one_pool_of_64_KiB_blocks()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.AddLiveStreamSilo();
        using var host = builder.Build();

        AssertBlocks(host.Services);
    }

    [Fact]
    public void A_standalone_gateways_cluster_client_uses_one_pool_of_64_KiB_blocks()
    {
        using var app = Gateway(inline: null);

        AssertBlocks(app.Services);
    }

    [Fact]
    public void This_Orleans_version_lets_the_scheduler_of_its_socket_connections_be_set()
    {
        Assert.True(OrleansInlineSends.Available);
    }

    [Fact]
    public void A_silo_and_a_standalone_gateway_send_inline_and_the_gateways_kestrel_runs_inline_unless_turned_off()
    {
        var silo = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        silo.AddLiveStreamSilo();
        using (var host = silo.Build())
        {
            Assert.Same(PipeScheduler.Inline, OrleansInlineSends.SchedulerOf(host.Services));
        }

        using (var app = Gateway(inline: null))
        {
            Assert.Same(PipeScheduler.Inline, OrleansInlineSends.SchedulerOf(app.Services));
            Assert.True(app.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
        }

        // Turned off: Orleans' own I/O queues and Kestrel's hand-offs.
        using (var app = Gateway(inline: false))
        {
            Assert.NotSame(PipeScheduler.Inline, OrleansInlineSends.SchedulerOf(app.Services));
            Assert.False(app.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
        }
    }

    private static WebApplication Gateway(bool? inline)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        var settings = new Dictionary<string, string?> { ["LiveStream:Gateway:HostSilo"] = "false" };
        if (inline is { } value)
        {
            settings["LiveStream:Cluster:InlineSocketScheduling"] = value ? "true" : "false";
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddLiveStreamGateway();
        return builder.Build();
    }

    private static void AssertBlocks(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<SocketConnectionOptions>>().Value;
        var pool = Assert.IsType<SocketBlockPool>(OrleansSocketBlocks.ListenerPoolOf(options));
        Assert.Same(pool, OrleansSocketBlocks.ListenerPoolOf(options));

        // Outgoing connections and the message serializer: the same pool.
        Assert.Same(pool, OrleansSocketBlocks.SharedPoolOf(services));
        Assert.Equal(64 * 1024, pool.MaxBufferSize);
        using var block = pool.Rent();
        Assert.Equal(64 * 1024, block.Memory.Length);
    }
}

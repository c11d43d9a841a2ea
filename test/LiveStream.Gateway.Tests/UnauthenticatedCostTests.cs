using System.Net;
using System.Net.WebSockets;
using LiveStream.Gateway.Ingest;
using LiveStream.Gateway.Options;
using Microsoft.Extensions.DependencyInjection;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// What a connection with a made-up key costs: the directory is asked once per key and period, not once per
/// connection; IPv6 clients are limited per network; the lookups waiting at once are bounded.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class UnauthenticatedCostTests(GatewayFactory factory)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task Fifty_connections_with_one_unknown_key_cost_one_directory_lookup()
    {
        var keys = factory.Services.GetRequiredService<KeyResolver>();
        var key = "lsk_" + Guid.NewGuid().ToString("N");
        var before = keys.DirectoryLookups;

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(4401, await factory.RefusalAsync(key));
        }

        Assert.Equal(1, keys.DirectoryLookups - before);
    }

    [Fact]
    public void IPv6_clients_are_limited_per_64_bit_network_and_IPv4_per_address()
    {
        using var admission = new IngestAdmission(Microsoft.Extensions.Options.Options.Create(new IngestOptions { ConnectionsPerWindow = 3 }));

        // One host rotating through its /64: the fourth connection is refused whatever the address.
        for (var i = 1; i <= 3; i++)
        {
            Assert.True(admission.TryAdmit(IPAddress.Parse($"2001:db8:1:2::{i:x}")));
        }

        Assert.False(admission.TryAdmit(IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        Assert.True(admission.TryAdmit(IPAddress.Parse("2001:db8:1:3::1")), "another /64 is another client");
        Assert.Equal(admission.Partition(IPAddress.Parse("192.0.2.7")), admission.Partition(IPAddress.Parse("::ffff:192.0.2.7")));
        Assert.NotEqual(admission.Partition(IPAddress.Parse("192.0.2.7")), admission.Partition(IPAddress.Parse("192.0.2.8")));
    }

    [Fact]
    public void Lookups_waiting_at_once_are_bounded_and_each_place_comes_back()
    {
        using var admission = new IngestAdmission(Microsoft.Extensions.Options.Options.Create(new IngestOptions { MaxPendingHandshakes = 2 }));

        Assert.True(admission.TryBeginHandshake());
        Assert.True(admission.TryBeginHandshake());
        Assert.False(admission.TryBeginHandshake());
        Assert.Equal(2, admission.PendingHandshakes);
        admission.EndHandshake();
        Assert.True(admission.TryBeginHandshake());
    }

    [Fact(Timeout = 60_000)]
    public async Task With_every_lookup_place_taken_a_new_connection_gets_503_before_any_lookup()
    {
        var admission = factory.Services.GetRequiredService<IngestAdmission>();
        var keys = factory.Services.GetRequiredService<KeyResolver>();
        var taken = 0;
        while (admission.TryBeginHandshake())
        {
            taken++;
        }

        try
        {
            var before = keys.DirectoryLookups;
            var error = await Assert.ThrowsAnyAsync<Exception>(() => factory.Server.CreateWebSocketClient().ConnectAsync(factory.IngestUri("lsk_" + Guid.NewGuid().ToString("N")), CancellationToken.None));
            Assert.Contains("503", error.Message, StringComparison.Ordinal);
            Assert.Equal(before, keys.DirectoryLookups);
        }
        finally
        {
            for (var i = 0; i < taken; i++)
            {
                admission.EndHandshake();
            }
        }
    }

    [Fact]
    public void The_gateway_caps_connections_upgrades_headers_and_request_bodies()
    {
        var configuration = Deploy.ProcessConfiguration.For("Gateway", new Dictionary<string, string?>());
        var limits = new Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions().Limits;
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(configuration.GetSection("Kestrel:Limits"), limits);

        Assert.Equal(10_000, limits.MaxConcurrentConnections);
        Assert.Equal(5_000, limits.MaxConcurrentUpgradedConnections);
        Assert.Equal(1024 * 1024, limits.MaxRequestBodySize);
        Assert.Equal((64, 32 * 1024), (limits.MaxRequestHeaderCount, limits.MaxRequestHeadersTotalSize));
    }
}

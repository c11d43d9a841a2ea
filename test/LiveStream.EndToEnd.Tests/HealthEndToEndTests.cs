using System.Net;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary><c>/health/live</c> and <c>/health/ready</c> of a standalone gateway, before and after a silo is there.</summary>
public sealed class HealthEndToEndTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_gateway_without_a_silo_is_live_but_not_ready_until_a_silo_joins()
    {
        var data = Directory.CreateTempSubdirectory("livestream-health-").FullName;
        var gatewayPort = FreePort.Next();
        string[] shared =
        [
            $"--LiveStream:DataPath={data}",
            $"--LiveStream:Cluster:SiloPort={FreePort.Next()}",
            $"--LiveStream:Cluster:GatewayPort={gatewayPort}",
            $"--LiveStream:Cluster:ClusterId=health-{Guid.NewGuid():N}",
        ];
        var gatewayUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var siloUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        ManagedProcess? silo = null;
        var gateway = Start("health-gateway", "Gateway",
        [
            .. shared,
            "--urls", gatewayUrl.ToString().TrimEnd('/'),
            "--LiveStream:Gateway:HostSilo=false",
            "--LiveStream:AdminToken=health-test-admin-token-0123",
        ]);
        try
        {
            // Nothing listens on the cluster's gateway port: the process answers, the cluster does not.
            await Eventually.ReturnsAsync(() => StatusAsync(http, new Uri(gatewayUrl, "/health/live")), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(90), "the gateway to answer /health/live");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(http, new Uri(gatewayUrl, "/health/ready")));
            Assert.False(gateway.HasExited);

            silo = Start("health-silo", "Silo", [.. shared, "--urls", siloUrl.ToString().TrimEnd('/')]);
            await Eventually.ReturnsAsync(() => StatusAsync(http, new Uri(gatewayUrl, "/health/ready")), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(120), "the gateway to be ready once the silo is up");
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, new Uri(siloUrl, "/health/ready")));
        }
        finally
        {
            await gateway.DisposeAsync();
            if (silo is not null)
            {
                await silo.DisposeAsync();
            }

            Directory.Delete(data, recursive: true);
        }
    }

    private static ManagedProcess Start(string name, string project, string[] args)
    {
        var dll = RepoPaths.ProgramDll(project);
        Assert.True(File.Exists(dll), $"{dll} is not built");
        return ManagedProcess.Start(name, "dotnet", [dll, .. args], new Dictionary<string, string> { ["DOTNET_gcServer"] = "0" });
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, Uri url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }
}

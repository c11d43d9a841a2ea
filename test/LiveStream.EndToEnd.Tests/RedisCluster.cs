using System.Net.Http.Headers;
using System.Security.Cryptography;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// Silos and standalone gateways as separate processes, clustered through a real redis-server with append-only
/// persistence, on loopback ports, sharing one temporary data folder. Disposing stops every process it started.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<ManagedProcess> _processes = [];
    private readonly Dictionary<string, ManagedProcess> _silos = [];
    private readonly List<Uri> _gateways = [];

    private RedisCluster(string dataPath, RedisServer redis)
    {
        DataPath = dataPath;
        Redis = redis;
    }

    public string DataPath { get; }

    public RedisServer Redis { get; }

    /// <summary>Silo processes by their silo endpoint, <c>127.0.0.1:{port}</c> (a session's <c>silo</c> starts with it).</summary>
    public IReadOnlyDictionary<string, ManagedProcess> Silos => _silos;

    public IReadOnlyList<Uri> Gateways => _gateways;

    /// <summary>The admin API on the first gateway, with the admin token.</summary>
    public HttpClient Api { get; private set; } = null!;

    /// <summary>
    /// Starts Redis, then <paramref name="silos"/> silos, then <paramref name="gateways"/> gateways, each once the
    /// one before is ready. <paramref name="settings"/> go to every process.
    /// </summary>
    public static async Task<RedisCluster> StartAsync(string name, int silos, int gateways, params string[] settings)
    {
        var dataPath = Directory.CreateTempSubdirectory($"livestream-{name}-").FullName;
        Directory.CreateDirectory(Path.Combine(dataPath, "redis"));
        var cluster = new RedisCluster(dataPath, await RedisServer.StartAsync(Path.Combine(dataPath, "redis")));
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        string[] shared =
        [
            $"--ConnectionStrings:Redis={cluster.Redis.ConnectionString}",
            $"--LiveStream:DataPath={dataPath}",
            $"--LiveStream:Cluster:ClusterId={name}-{Guid.NewGuid():N}",
            "--LiveStream:Ffmpeg:Preset=ultrafast",
            "--LiveStream:Ingest:ConnectionsPerWindow=1000000",
            .. settings,
        ];
        for (var i = 0; i < silos; i++)
        {
            var siloPort = FreePort.Next();
            var http = FreePort.Next();
            var silo = ManagedProcess.Start($"silo{i}", "dotnet",
                [RepoPaths.ProgramDll("Silo"), .. shared, "--urls", $"http://127.0.0.1:{http}", $"--LiveStream:Cluster:SiloPort={siloPort}", $"--LiveStream:Cluster:GatewayPort={FreePort.Next()}"]);
            cluster._processes.Add(silo);
            cluster._silos[$"127.0.0.1:{siloPort}"] = silo;
            await ClusterApi.WaitReadyAsync(new Uri($"http://127.0.0.1:{http}/health/ready"));
        }

        for (var i = 0; i < gateways; i++)
        {
            var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            cluster._processes.Add(ManagedProcess.Start($"gateway{i}", "dotnet",
                [RepoPaths.ProgramDll("Gateway"), .. shared, "--urls", url.ToString().TrimEnd('/'), "--LiveStream:Gateway:HostSilo=false", $"--LiveStream:AdminToken={token}"]));
            await ClusterApi.WaitReadyAsync(new Uri(url, "/health/ready"));
            cluster._gateways.Add(url);
        }

        cluster.Api = new HttpClient { BaseAddress = cluster._gateways[0], Timeout = TimeSpan.FromSeconds(60) };
        cluster.Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return cluster;
    }

    public async ValueTask DisposeAsync()
    {
        Api?.Dispose();
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }

        await Redis.DisposeAsync();
        Directory.Delete(DataPath, recursive: true);
    }
}

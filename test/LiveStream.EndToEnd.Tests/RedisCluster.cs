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
    private readonly Dictionary<string, Uri> _siloHealth = [];
    private readonly List<Uri> _gateways = [];
    private readonly Dictionary<Uri, ManagedProcess> _gatewayProcesses = [];
    private readonly string[] _shared;

    private RedisCluster(string dataPath, RedisServer redis, string[] shared)
    {
        DataPath = dataPath;
        Redis = redis;
        _shared = shared;
    }

    /// <summary>Death detection tuned for tests: a silo that stops answering is declared dead in about 2 s.</summary>
    public static readonly string[] FastDeathDetection =
    [
        "--LiveStream:Membership:ProbeTimeout=00:00:01",
        "--LiveStream:Membership:NumMissedProbesLimit=2",
        "--LiveStream:Membership:NumVotesForDeathDeclaration=1",
        "--LiveStream:Membership:TableRefreshTimeout=00:00:02",
    ];

    public string DataPath { get; }

    public RedisServer Redis { get; }

    public string AdminToken { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

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
        var redis = await RedisServer.StartAsync(Path.Combine(dataPath, "redis"));
        string[] shared =
        [
            $"--ConnectionStrings:Redis={redis.ConnectionString}",
            $"--LiveStream:DataPath={dataPath}",
            $"--LiveStream:Cluster:ClusterId={name}-{Guid.NewGuid():N}",
            "--LiveStream:Ffmpeg:Preset=ultrafast",
            "--LiveStream:Ingest:ConnectionsPerWindow=1000000",
            .. settings,
        ];
        var cluster = new RedisCluster(dataPath, redis, shared);
        try
        {
            for (var i = 0; i < silos; i++)
            {
                await cluster.AddSiloAsync();
            }

            for (var i = 0; i < gateways; i++)
            {
                await cluster.AddGatewayAsync();
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        cluster.Api = cluster.ApiOn(cluster._gateways[0]);
        return cluster;
    }

    /// <summary>
    /// Starts one more silo (on new ports) and waits until it is ready. A silo that is not ready within 45 s (a free
    /// port that something else took before the silo bound it) is stopped and started once more on other ports.
    /// </summary>
    public async Task<ManagedProcess> AddSiloAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var siloPort = FreePort.Next();
            var http = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            var silo = Start("silo", "Silo", ["--urls", http.ToString().TrimEnd('/'), $"--LiveStream:Cluster:SiloPort={siloPort}", $"--LiveStream:Cluster:GatewayPort={FreePort.Next()}"]);
            var endpoint = $"127.0.0.1:{siloPort}";
            _silos[endpoint] = silo;
            _siloHealth[endpoint] = new Uri(http, "/health/ready");
            try
            {
                await ClusterApi.WaitReadyAsync(_siloHealth[endpoint], TimeSpan.FromSeconds(45));
                return silo;
            }
            catch (TimeoutException ex) when (attempt == 1)
            {
                Console.WriteLine($"silo on {endpoint} not ready after 45 s ({ex.Message}); starting another. Its last lines:\n{silo.Tail(20)}");
                Forget(silo);
                silo.Signal("KILL");
            }
        }
    }

    /// <summary>Starts one more standalone gateway (on a new port) and waits until it is ready.</summary>
    public async Task<Uri> AddGatewayAsync()
    {
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var gateway = Start("gateway", "Gateway", ["--urls", url.ToString().TrimEnd('/'), "--LiveStream:Gateway:HostSilo=false", $"--LiveStream:AdminToken={AdminToken}"]);
        _gateways.Add(url);
        _gatewayProcesses[url] = gateway;
        await ClusterApi.WaitReadyAsync(new Uri(url, "/health/ready"));
        return url;
    }

    /// <summary>The gateway process behind a gateway address.</summary>
    public ManagedProcess GatewayProcess(Uri gateway) => _gatewayProcesses[gateway];

    /// <summary>A new admin API client on <paramref name="gateway"/>, with the admin token.</summary>
    public HttpClient ApiOn(Uri gateway)
    {
        var api = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(60) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return api;
    }

    /// <summary>Leaves a silo or gateway that is being stopped out of <see cref="Silos"/>, <see cref="Gateways"/> and <see cref="WaitReadyAsync"/>; it is still killed on dispose.</summary>
    public void Forget(ManagedProcess process)
    {
        foreach (var (endpoint, _) in _silos.Where(s => s.Value == process).ToList())
        {
            _silos.Remove(endpoint);
            _siloHealth.Remove(endpoint);
        }

        foreach (var (url, _) in _gatewayProcesses.Where(g => g.Value == process).ToList())
        {
            _gatewayProcesses.Remove(url);
            _gateways.Remove(url);
        }
    }

    /// <summary>Waits until every silo and gateway answers <c>/health/ready</c>.</summary>
    public async Task WaitReadyAsync()
    {
        foreach (var ready in _siloHealth.Values.Concat(_gateways.Select(g => new Uri(g, "/health/ready"))))
        {
            await ClusterApi.WaitReadyAsync(ready);
        }
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

    private ManagedProcess Start(string kind, string project, string[] arguments)
    {
        var count = _processes.Count(p => p.Name.StartsWith(kind, StringComparison.Ordinal));
        var process = ManagedProcess.Start($"{kind}{count}", "dotnet", [RepoPaths.ProgramDll(project), .. _shared, .. arguments]);
        _processes.Add(process);
        return process;
    }
}

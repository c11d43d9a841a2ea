using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using LiveStream.EndToEnd.Tests;
using LiveStream.Testing;
using LiveStream.Testing.Load;

namespace LiveStream.Benchmarks.Load;

/// <summary>
/// What a load run publishes to, as real processes on loopback: the cluster path (a silo and a standalone gateway,
/// localhost clustering, as the end-to-end tests run them), the embedded default (one gateway process hosting its
/// silo) or the direct pipe (<see cref="DirectPipeServer"/>).
/// Measures their CPU time and resident memory through /proc; disposing kills them.
/// </summary>
internal sealed class LoadTarget : IAsyncDisposable
{
    /// <summary>Capacity runs must not be refused by the limits meant for real clients.</summary>
    private static readonly Dictionary<string, string> Environment = new()
    {
        ["LiveStream__Admission__CapacityUnits"] = "1000000",
        ["LiveStream__Ingest__ConnectionsPerWindow"] = "1000000",
    };

    private readonly List<ManagedProcess> _processes;
    private readonly string _data;
    private bool _disposed;

    private LoadTarget(string name, List<ManagedProcess> processes, string data, Uri ingest, HttpClient? api)
    {
        Name = name;
        _processes = processes;
        _data = data;
        Ingest = ingest;
        Api = api;
    }

    public string Name { get; }

    /// <summary>The HTTP address publishers connect to.</summary>
    public Uri Ingest { get; }

    /// <summary>The admin API (cluster path only).</summary>
    public HttpClient? Api { get; }

    public IReadOnlyList<ManagedProcess> Processes => _processes;

    /// <summary>A silo and a standalone gateway (<c>HostSilo=false</c>) as separate processes.</summary>
    public static async Task<LoadTarget> StartClusterAsync()
    {
        var data = Directory.CreateTempSubdirectory("livestream-load-").FullName;
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        string[] shared =
        [
            $"--LiveStream:DataPath={data}",
            $"--LiveStream:Cluster:SiloPort={FreePort.Next()}",
            $"--LiveStream:Cluster:GatewayPort={FreePort.Next()}",
            $"--LiveStream:Cluster:ClusterId=load-{Guid.NewGuid():N}",
            "--Logging:LogLevel:Default=Warning",
        ];
        var processes = new List<ManagedProcess>();
        try
        {
            var siloHttp = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            processes.Add(ManagedProcess.Start("silo", "dotnet", [RepoPaths.ProgramDll("Silo"), .. shared, "--urls", siloHttp.ToString().TrimEnd('/')], Environment));
            await ClusterApi.WaitReadyAsync(new Uri(siloHttp, "/health/ready"));
            var gateway = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            processes.Add(ManagedProcess.Start("gateway", "dotnet",
                [RepoPaths.ProgramDll("Gateway"), .. shared, "--urls", gateway.ToString().TrimEnd('/'), "--LiveStream:Gateway:HostSilo=false", $"--LiveStream:AdminToken={token}"], Environment));
            await ClusterApi.WaitReadyAsync(new Uri(gateway, "/health/ready"));
            var api = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(60) };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return new LoadTarget("cluster", processes, data, gateway, api);
        }
        catch
        {
            await DisposeAllAsync(processes, data);
            throw;
        }
    }

    /// <summary>The embedded default, as <c>./run.sh</c> starts it: one gateway process that hosts its silo.</summary>
    public static async Task<LoadTarget> StartEmbeddedAsync()
    {
        var data = Directory.CreateTempSubdirectory("livestream-embedded-").FullName;
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var processes = new List<ManagedProcess>();
        try
        {
            processes.Add(ManagedProcess.Start("embedded", "dotnet",
            [
                RepoPaths.ProgramDll("Gateway"),
                $"--LiveStream:DataPath={data}",
                $"--LiveStream:Cluster:SiloPort={FreePort.Next()}",
                $"--LiveStream:Cluster:GatewayPort={FreePort.Next()}",
                $"--LiveStream:Cluster:ClusterId=load-{Guid.NewGuid():N}",
                "--Logging:LogLevel:Default=Warning",
                "--urls", url.ToString().TrimEnd('/'),
                $"--LiveStream:AdminToken={token}",
            ], Environment));
            await ClusterApi.WaitReadyAsync(new Uri(url, "/health/ready"));
            var api = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return new LoadTarget("embedded", processes, data, url, api);
        }
        catch
        {
            await DisposeAllAsync(processes, data);
            throw;
        }
    }

    /// <summary>This program's <c>pipe</c> verb in a process of its own.</summary>
    public static async Task<LoadTarget> StartPipeAsync()
    {
        var data = Directory.CreateTempSubdirectory("livestream-pipe-").FullName;
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var processes = new List<ManagedProcess>
        {
            ManagedProcess.Start("pipe", "dotnet", [typeof(LoadTarget).Assembly.Location, "pipe", "--urls", url.ToString().TrimEnd('/'), "--archive", data], Environment),
        };
        try
        {
            await ClusterApi.WaitReadyAsync(new Uri(url, "/health/ready"));
            return new LoadTarget("direct pipe", processes, data, url, api: null);
        }
        catch
        {
            await DisposeAllAsync(processes, data);
            throw;
        }
    }

    /// <summary>
    /// The relay yardstick: the <c>pipe</c> verb forwarding every payload to the <c>sink</c> verb, each a process of
    /// its own (<see cref="RelayForwarder"/>): the least any path through two processes costs here.
    /// </summary>
    public static async Task<LoadTarget> StartRelayAsync()
    {
        var data = Directory.CreateTempSubdirectory("livestream-relay-").FullName;
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var sinkPort = FreePort.Next();
        var processes = new List<ManagedProcess>();
        try
        {
            processes.Add(ManagedProcess.Start("sink", "dotnet", [typeof(LoadTarget).Assembly.Location, "sink", "--port", sinkPort.ToString(CultureInfo.InvariantCulture)], Environment));
            await WaitListeningAsync(sinkPort);
            processes.Add(ManagedProcess.Start("relay", "dotnet", [typeof(LoadTarget).Assembly.Location, "pipe", "--urls", url.ToString().TrimEnd('/'), "--forward", sinkPort.ToString(CultureInfo.InvariantCulture)], Environment));
            await ClusterApi.WaitReadyAsync(new Uri(url, "/health/ready"));
            return new LoadTarget("relay", processes, data, url, api: null);
        }
        catch
        {
            await DisposeAllAsync(processes, data);
            throw;
        }
    }

    /// <summary>Streams to publish to: created through the API (null output, the first <paramref name="sampled"/> with an archive), or made-up keys for the pipe.</summary>
    public async Task<IReadOnlyList<LoadStream>> StreamsAsync(int count, int sampled = 0) =>
        Api is null
            ? [.. Enumerable.Range(0, count).Select(_ => new LoadStream(null, new Uri($"ws://{Ingest.Authority}/stream/live/pipe-{Guid.NewGuid():N}"), Sampled: false))]
            : await LoadStreams.CreateAsync(Api, count, sampled);

    /// <summary>CPU seconds of each process so far, in <see cref="Processes"/> order.</summary>
    public double[] CpuSeconds() => [.. _processes.Select(p => ProcessProbe.CpuSeconds(p.Id))];

    /// <summary>Resident memory of every process, bytes.</summary>
    public long RssBytes() => _processes.Sum(p => ProcessProbe.RssBytes(p.Id));

    /// <summary>Resident memory of each process, as "name N MiB" joined by " + ".</summary>
    public string RssByProcess() => string.Join(" + ", _processes.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name} {ProcessProbe.RssBytes(p.Id) / 1048576.0:0} MiB")));

    /// <summary>Stops the processes; a second call does nothing (the harness stops the cluster before the embedded run).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Api?.Dispose();
        await DisposeAllAsync(_processes, _data);
    }

    private static async Task WaitListeningAsync(int port)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(System.Net.IPAddress.Loopback, port);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task DisposeAllAsync(List<ManagedProcess> processes, string data)
    {
        foreach (var process in Enumerable.Reverse(processes))
        {
            await process.DisposeAsync();
        }

        Directory.Delete(data, recursive: true);
    }
}

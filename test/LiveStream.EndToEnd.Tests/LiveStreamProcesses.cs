using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// A silo and a gateway as separate processes on loopback ports (localhost clustering), sharing a temporary
/// data folder. Every secret the tests create is remembered so the log test can look for it.
/// </summary>
public sealed class LiveStreamProcesses : IAsyncLifetime
{
    public const int MaxMessageBytes = 1024 * 1024;

    /// <summary>The silo's per-session buffer bound for these tests.</summary>
    public const int SessionBufferBytes = 1024 * 1024;

    private readonly List<ManagedProcess> _processes = [];
    private string[] _shared = [];

    public string DataPath { get; } = Directory.CreateTempSubdirectory("livestream-e2e-").FullName;

    public string AdminToken { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    public Uri GatewayUrl { get; private set; } = null!;

    /// <summary>The gateway's metrics listener (<c>LiveStream:Gateway:MetricsUrl</c>): its public port serves no <c>/metrics</c>.</summary>
    public Uri GatewayMetricsUrl { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    public ManagedProcess Silo { get; private set; } = null!;

    /// <summary>The silo's own HTTP address (health, metrics).</summary>
    public Uri SiloUrl { get; private set; } = null!;

    public ManagedProcess Gateway { get; private set; } = null!;

    /// <summary>A second stateless gateway in front of the same silo.</summary>
    public ManagedProcess Gateway2 { get; private set; } = null!;

    public Uri Gateway2Url { get; private set; } = null!;

    /// <summary>Stream keys and other secrets handed out during the run.</summary>
    public ConcurrentBag<string> Secrets { get; } = [];

    public IEnumerable<string> AllOutput => _processes.SelectMany(p => p.Output);

    public async Task InitializeAsync()
    {
        Secrets.Add(AdminToken);
        var siloPort = FreePort.Next();
        var clientPort = FreePort.Next();
        var siloHttp = FreePort.Next();
        var gatewayHttp = FreePort.Next();
        _shared =
        [
            $"--LiveStream:DataPath={DataPath}",
            $"--LiveStream:Cluster:SiloPort={siloPort}",
            $"--LiveStream:Cluster:GatewayPort={clientPort}",
            $"--LiveStream:Cluster:ClusterId=e2e-{Guid.NewGuid():N}",
            "--LiveStream:Ffmpeg:Preset=ultrafast",
            $"--LiveStream:Ingest:MaxMessageBytes={MaxMessageBytes}",
            $"--LiveStream:Session:BufferBytes={SessionBufferBytes}",
            // The suites open many connections from 127.0.0.1 in a few seconds (reconnect storms); the per-IP
            // limit has its own tests on a gateway of their own.
            "--LiveStream:Ingest:ConnectionsPerWindow=1000000",
            // Some suites hold a socket silent on purpose for longer than the default 15 s; idleness has its own
            // tests on a gateway of their own.
            "--LiveStream:Ingest:IdleTimeout=00:02:00",
            // Verbose logs, so the secrets test looks at everything an operator could turn on.
            "--Logging:LogLevel:Default=Debug",
            "--Logging:LogLevel:Orleans=Information",
            "--Logging:LogLevel:Microsoft.Orleans=Information",
            "--Logging:LogLevel:Polly=Information",
        ];

        SiloUrl = new Uri($"http://127.0.0.1:{siloHttp}");
        Silo = Start("silo", RepoPaths.ProgramDll("Silo"), [.. _shared, "--urls", $"http://127.0.0.1:{siloHttp}"]);
        await WaitReadyAsync(Silo, new Uri(SiloUrl, "/health/ready"));

        GatewayUrl = new Uri($"http://127.0.0.1:{gatewayHttp}");
        GatewayMetricsUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        Gateway = await StartGatewayAsync("gateway", GatewayUrl, [.. _shared, $"--LiveStream:Gateway:MetricsUrl={GatewayMetricsUrl.ToString().TrimEnd('/')}"]);
        Gateway2Url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        Gateway2 = await StartGatewayAsync("gateway2", Gateway2Url, _shared);

        Api = new HttpClient { BaseAddress = GatewayUrl, Timeout = TimeSpan.FromSeconds(60) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }

        Directory.Delete(DataPath, recursive: true);
    }

    /// <summary>Creates a stream through the API; remembers its key as a secret.</summary>
    public async Task<CreatedStream> CreateStreamAsync(object? body = null)
    {
        using var response = await Api.PostAsJsonAsync("/api/streams", body ?? new { });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /api/streams: {(int)response.StatusCode} {text}");
        var json = JsonDocument.Parse(text).RootElement;
        var created = new CreatedStream(
            json.GetProperty("id").GetString()!,
            json.GetProperty("streamKey").GetString()!,
            new Uri(json.GetProperty("ingestUrl").GetString()!));
        Secrets.Add(created.Key);
        return created;
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Api.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Polls a session until its state is one of <paramref name="states"/>.</summary>
    public Task<JsonElement> WaitForSessionStateAsync(string sessionId, params string[] states) =>
        Eventually.ReturnsAsync(
            () => GetJsonAsync($"/api/sessions/{sessionId}"),
            s => states.Contains(s.GetProperty("state").GetString()),
            TimeSpan.FromSeconds(60),
            $"session {sessionId} to be {string.Join(" or ", states)}");

    /// <summary>Another gateway, for a test that stops it or needs settings of its own (they win over the shared ones).</summary>
    public async Task<(ManagedProcess Process, Uri Url)> StartExtraGatewayAsync(string name, params string[] settings)
    {
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        return (await StartExtraGatewayAsync(name, url, settings), url);
    }

    /// <summary>Another gateway whose plain HTTP address (health) is <paramref name="url"/>, for settings that name it (Kestrel endpoints).</summary>
    public Task<ManagedProcess> StartExtraGatewayAsync(string name, Uri url, params string[] settings) =>
        StartGatewayAsync(name, url, [.. _shared, .. settings]);

    private async Task<ManagedProcess> StartGatewayAsync(string name, Uri url, string[] shared)
    {
        var gateway = Start(name, RepoPaths.ProgramDll("Gateway"),
        [
            .. shared,
            "--urls", url.ToString().TrimEnd('/'),
            "--LiveStream:Gateway:HostSilo=false",
            $"--LiveStream:AdminToken={AdminToken}",
        ]);
        await WaitReadyAsync(gateway, new Uri(url, "/health/ready"));
        return gateway;
    }

    private ManagedProcess Start(string name, string dll, IEnumerable<string> args)
    {
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var process = ManagedProcess.Start(name, "dotnet", [dll, .. args], new Dictionary<string, string> { ["DOTNET_gcServer"] = "0" });
        _processes.Add(process);
        return process;
    }

    private static async Task WaitReadyAsync(ManagedProcess process, Uri ready)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(process.HasExited, $"{process.Name} exited while starting:\n{process.Tail()}");
            try
            {
                using var response = await http.GetAsync(ready);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{process.Name} not ready at {ready}:\n{process.Tail()}");
    }
}

[CollectionDefinition(Name)]
public sealed class ProcessCluster : ICollectionFixture<LiveStreamProcesses>
{
    public const string Name = "silo and gateway processes";
}

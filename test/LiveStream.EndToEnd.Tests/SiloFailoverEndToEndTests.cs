using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// Two silos and two gateways clustered through a real redis-server; the silo hosting live sessions is killed with
/// -9. Slow suite (about a minute).
/// </summary>
[Trait("Category", "Slow")]
public sealed class SiloFailoverEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _dataPath = Directory.CreateTempSubdirectory("livestream-failover-").FullName;
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private readonly List<ManagedProcess> _processes = [];
    private readonly Dictionary<string, ManagedProcess> _silos = [];
    private readonly List<Uri> _gateways = [];
    private RedisServer _redis = null!;
    private HttpClient _api = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_dataPath, "redis"));
        _redis = await RedisServer.StartAsync(Path.Combine(_dataPath, "redis"));
        string[] shared =
        [
            $"--ConnectionStrings:Redis={_redis.ConnectionString}",
            $"--LiveStream:DataPath={_dataPath}",
            $"--LiveStream:Cluster:ClusterId=failover-{Guid.NewGuid():N}",
            "--LiveStream:Ffmpeg:Preset=ultrafast",
            // Death detection tuned for a test: about 2 s.
            "--LiveStream:Membership:ProbeTimeout=00:00:01",
            "--LiveStream:Membership:NumMissedProbesLimit=2",
            "--LiveStream:Membership:NumVotesForDeathDeclaration=1",
            "--LiveStream:Membership:TableRefreshTimeout=00:00:02",
            "--LiveStream:Ingest:GrainCallTimeout=00:00:05",
            "--LiveStream:Ingest:GrainCallRetries=6",
        ];
        for (var i = 0; i < 2; i++)
        {
            var siloPort = FreePort.Next();
            var http = FreePort.Next();
            var silo = ManagedProcess.Start($"silo{i}", "dotnet",
                [RepoPaths.ProgramDll("Silo"), .. shared, "--urls", $"http://127.0.0.1:{http}", $"--LiveStream:Cluster:SiloPort={siloPort}", $"--LiveStream:Cluster:GatewayPort={FreePort.Next()}"]);
            _processes.Add(silo);
            _silos[$"127.0.0.1:{siloPort}"] = silo;
            await WaitReadyAsync(new Uri($"http://127.0.0.1:{http}/health/ready"));
        }

        for (var i = 0; i < 2; i++)
        {
            var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
            _processes.Add(ManagedProcess.Start($"gateway{i}", "dotnet",
                [RepoPaths.ProgramDll("Gateway"), .. shared, "--urls", url.ToString().TrimEnd('/'), "--LiveStream:Gateway:HostSilo=false", $"--LiveStream:AdminToken={_token}"]));
            await WaitReadyAsync(new Uri(url, "/health/ready"));
            _gateways.Add(url);
        }

        _api = new HttpClient { BaseAddress = _gateways[0] };
        _api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _token);
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }

        await _redis.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 300_000)]
    public async Task Killing_the_silo_that_hosts_live_sessions_moves_them_to_the_survivor_with_every_byte()
    {
        var capture = MediaCapture.Load("audio-only-opus");
        var half = capture.Bytes.Length / 2;
        var publishers = new List<(CreatedStream Stream, V1Publisher Publisher)>();
        for (var i = 0; i < 4; i++)
        {
            var stream = await CreateAsync();
            var publisher = await V1Publisher.ConnectAsync(stream.IngestUrlOn(_gateways[i % 2]));
            await publisher.SendRangeAsync(capture.Bytes, 0, half, 4096);
            await publisher.WaitForAckAsync(half, Wait);
            publishers.Add((stream, publisher));
        }

        var before = new Dictionary<string, JsonElement>();
        foreach (var (_, publisher) in publishers)
        {
            before[publisher.SessionId] = await SessionAsync(publisher.SessionId);
        }

        var victim = before.Values.GroupBy(s => s.GetProperty("silo").GetString()!).OrderByDescending(g => g.Count()).First();
        var moved = victim.Select(s => s.GetProperty("id").GetString()!).ToHashSet();
        var deadPids = victim.Select(s => s.GetProperty("ffmpeg").GetProperty("pid").GetInt32()).ToList();
        var siloKey = victim.Key[..victim.Key.IndexOf('@', StringComparison.Ordinal)];

        _silos[siloKey].Signal("KILL");

        // Every publisher goes on; one whose socket the gateway gave up on reconnects and resends from resumeFrom.
        await Task.WhenAll(publishers.Select((p, i) => FinishAsync(p.Stream, p.Publisher, capture, half, _gateways[(i + 1) % 2])));

        foreach (var pid in deadPids)
        {
            Assert.False(ProcessProbe.IsRunning(pid), $"FFmpeg {pid} outlived its silo");
        }

        foreach (var (stream, publisher) in publishers)
        {
            var sessions = JsonDocument.Parse(await _api.GetStringAsync($"/api/streams/{stream.Id}/sessions")).RootElement;
            Assert.Equal(1, sessions.GetArrayLength());
            Assert.Equal(publisher.SessionId, sessions[0].GetProperty("id").GetString());
            Assert.Equal("ended", sessions[0].GetProperty("state").GetString());
            var archive = await _api.GetByteArrayAsync($"/api/sessions/{publisher.SessionId}/archive");
            Assert.Equal(capture.Sha256, Convert.ToHexString(SHA256.HashData(archive)));
            var playlist = Path.Combine(_dataPath, "hls", publisher.SessionId, "index.m3u8");
            var probe = await ProbeResult.RunAsync(playlist);
            Assert.Equal(["aac"], probe.AudioCodecs);
            if (moved.Contains(publisher.SessionId))
            {
                Assert.Contains("#EXT-X-DISCONTINUITY", await File.ReadAllTextAsync(playlist), StringComparison.Ordinal);
            }
        }
    }

    private async Task FinishAsync(CreatedStream stream, V1Publisher publisher, MediaCapture capture, long from, Uri otherGateway)
    {
        var current = publisher;
        var offset = from;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                await current.SendRangeAsync(capture.Bytes, offset, capture.Bytes.Length, 4096);
                await current.WaitForAckAsync(capture.Bytes.Length, Wait);
                await current.EndAsync();
                await current.ServerClose.WaitAsync(Wait);
                await current.DisposeAsync();
                return;
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or TimeoutException or OperationCanceledException)
            {
                await current.DisposeAsync();
                current = await V1Publisher.ConnectAsync(stream.IngestUrlOn(otherGateway));
                offset = current.ResumeFrom;
            }
        }

        throw new InvalidOperationException($"stream {stream.Id} could not be finished");
    }

    private Task<CreatedStream> CreateAsync() => ClusterApi.CreateStreamAsync(_api);

    private Task<JsonElement> SessionAsync(string id) => ClusterApi.SessionAsync(_api, id);

    private static Task WaitReadyAsync(Uri ready) => ClusterApi.WaitReadyAsync(ready);
}

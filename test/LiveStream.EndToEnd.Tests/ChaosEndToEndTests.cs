using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using LiveStream.Testing;
using Xunit.Abstractions;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// Chaos on real processes: 20 live sessions over two silos and two gateways, Redis and real FFmpeg; a silo killed
/// with -9, then a gateway killed with -9, then redis-server paused for 10 s. Nothing acknowledged is lost, no
/// session is stranded, no FFmpeg is orphaned, and no session ever has two FFmpegs. Slow suite (about two minutes).
/// </summary>
[Trait("Category", "Slow")]
public sealed class ChaosEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Sessions = 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly MediaCapture _capture = MediaCapture.Load("h264-opus-mkv");
    private RedisCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await RedisCluster.StartAsync(
            "chaos",
            silos: 2,
            gateways: 2,
            [.. RedisCluster.FastDeathDetection,
            "--LiveStream:Ingest:GrainCallTimeout=00:00:10",
            "--LiveStream:Admission:CapacityUnits=1000"]);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact(Timeout = 400_000)]
    public async Task Silo_kill_gateway_kill_and_a_redis_pause_lose_no_byte_strand_no_session_and_never_run_two_ffmpegs_for_a_session()
    {
        var sessions = new ConcurrentDictionary<int, string>();
        var streams = new List<CreatedStream>();
        for (var i = 0; i < Sessions; i++)
        {
            streams.Add(await ClusterApi.CreateStreamAsync(_cluster.Api));
        }

        var gateways = _cluster.Gateways.ToList();
        IReadOnlyList<Uri> Live() => [.. gateways.Where(g => !_cluster.GatewayProcess(g).HasExited)];
        var publishers = streams.Select((s, i) => new ResumingPublisher(_capture, s, Live, i, id => sessions.TryAdd(i, id))).ToList();
        using var stop = new CancellationTokenSource();
        var most = new ConcurrentDictionary<string, int>();
        var sampler = SampleFfmpegsAsync(most, stop.Token);
        var faults = InjectFaultsAsync(sessions, gateways);
        try
        {
            await Task.WhenAll(publishers.Select(p => p.RunAsync((_, _) => Task.CompletedTask, paced: true, CancellationToken.None)));
            await faults;
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
            foreach (var publisher in publishers)
            {
                await publisher.DisposeAsync();
            }
        }

        var api = _cluster.ApiOn(Live()[0]);
        for (var i = 0; i < Sessions; i++)
        {
            var publisher = publishers[i];
            output.WriteLine($"publisher {i}: {publisher.Connections.Count} connections, sessions {string.Join(",", publisher.Connections.Select(c => c.SessionId).Distinct())}, closes {string.Join(",", publisher.Connections.Select(c => c.PreviousClose))}");
            Assert.Single(publisher.Connections.Select(c => c.SessionId).Distinct());

            // No reconnect was told to resume below a byte the server had acknowledged before it.
            foreach (var connection in publisher.Connections)
            {
                var ackedBefore = publisher.Acks.Where(ack => !ack.FromHello && ack.At < connection.At).Select(ack => ack.Offset).DefaultIfEmpty(0).Max();
                Assert.True(connection.ResumeFrom >= ackedBefore, $"publisher {i} resumed at {connection.ResumeFrom} after {ackedBefore} was acknowledged");
            }

            Assert.Equal(1000, publisher.EndCloseCode);
            var archive = await api.GetByteArrayAsync($"/api/sessions/{sessions[i]}/archive");
            Assert.Equal(_capture.Sha256, Convert.ToHexString(SHA256.HashData(archive)));
        }

        // No session is left live (stranded), and no FFmpeg is left without one.
        foreach (var (i, id) in sessions)
        {
            var status = await Eventually.ReturnsAsync(() => ClusterApi.SessionAsync(api, id), s => s.GetProperty("state").GetString() == "ended", Wait, $"session {i} to end");
            Assert.Equal(JsonValueKind.Null, status.GetProperty("ffmpeg").GetProperty("pid").ValueKind);
        }

        await Eventually.HoldsAsync(() => ProcessProbe.FindFfmpegUnder(_cluster.DataPath).Count == 0, Wait, "every FFmpeg to be gone");
        var twice = most.Where(m => m.Value > 1).ToList();
        Assert.True(twice.Count == 0, "sessions that ran two FFmpegs at once: " + string.Join(", ", twice.Select(t => $"{t.Key} ({t.Value})")));
        Assert.Equal(Sessions, most.Count);
    }

    /// <summary>At 5 s the silo with the most sessions is killed, at 9 s the first gateway, at 12 s Redis is paused for 10 s.</summary>
    private async Task InjectFaultsAsync(ConcurrentDictionary<int, string> sessions, List<Uri> gateways)
    {
        await Task.Delay(TimeSpan.FromSeconds(5));
        var owners = new List<string>();
        foreach (var id in sessions.Values)
        {
            var silo = (await ClusterApi.SessionAsync(_cluster.Api, id)).GetProperty("silo").GetString();
            if (silo is not null)
            {
                owners.Add(silo[..silo.IndexOf('@', StringComparison.Ordinal)]);
            }
        }

        var victim = owners.GroupBy(o => o).OrderByDescending(g => g.Count()).First();
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} kill -9 silo {victim.Key} with {victim.Count()} of {owners.Count} sessions");
        _cluster.Silos[victim.Key].Signal("KILL");

        await Task.Delay(TimeSpan.FromSeconds(4));
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} kill -9 gateway {gateways[0]}");
        _cluster.GatewayProcess(gateways[0]).Signal("KILL");

        await Task.Delay(TimeSpan.FromSeconds(3));
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} SIGSTOP redis-server");
        _cluster.Redis.Signal("STOP");
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _cluster.Redis.Signal("CONT");
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} SIGCONT redis-server");
        }
    }

    /// <summary>Every 100 ms: how many FFmpegs write each session's HLS folder; keeps the most seen per session.</summary>
    private async Task SampleFfmpegsAsync(ConcurrentDictionary<string, int> most, CancellationToken cancellationToken)
    {
        var hls = Path.Combine(_cluster.DataPath, "hls") + Path.DirectorySeparatorChar;
        while (!cancellationToken.IsCancellationRequested)
        {
            var counts = ProcessProbe.FindCommandLines(c => c.StartsWith("ffmpeg ", StringComparison.Ordinal) || c.Contains("/ffmpeg ", StringComparison.Ordinal))
                .Select(c => c.IndexOf(hls, StringComparison.Ordinal) is var at and >= 0 ? c[(at + hls.Length)..].Split('/', ' ')[0] : null)
                .Where(id => id is not null)
                .GroupBy(id => id!);
            foreach (var group in counts)
            {
                most.AddOrUpdate(group.Key, group.Count(), (_, seen) => Math.Max(seen, group.Count()));
            }

            try
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

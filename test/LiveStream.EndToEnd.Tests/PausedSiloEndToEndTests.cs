using System.Diagnostics;
using System.Text.Json;
using LiveStream.Testing;
using Xunit.Abstractions;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// Two silos and one gateway on a real redis-server, with the gateway's grain-call timeout at 30 s: a chunk write in
/// flight to a silo that stops answering (SIGSTOP: its connections stay open, so nothing fails fast) must not wait
/// for that timeout. Slow suite (about half a minute).
/// </summary>
[Trait("Category", "Slow")]
public sealed class PausedSiloEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan GrainCallTimeout = TimeSpan.FromSeconds(30);
    private RedisCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await RedisCluster.StartAsync(
            "paused",
            silos: 2,
            gateways: 1,
            [.. RedisCluster.FastDeathDetection,
            $"--LiveStream:Ingest:GrainCallTimeout={GrainCallTimeout}",
            // PAUSED_TEST_ATTEMPT=00:00:30 turns the bound off, to watch this test fail (the chunk then waits 30 s).
            $"--LiveStream:Ingest:WriteAttemptTimeout={Environment.GetEnvironmentVariable("PAUSED_TEST_ATTEMPT") ?? "00:00:01"}"]);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact(Timeout = 180_000)]
    public async Task A_chunk_in_flight_to_a_paused_silo_is_sent_again_and_acknowledged_on_the_survivor_long_before_the_grain_call_timeout()
    {
        var capture = MediaCapture.Load("audio-only-opus");
        var chunks = capture.Chunks().ToList();
        var stream = await ClusterApi.CreateStreamAsync(_cluster.Api);
        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrlOn(_cluster.Gateways[0]));
        long offset = 0;
        foreach (var chunk in chunks.Take(6))
        {
            await publisher.SendAsync(offset, chunk);
            offset += chunk.Length;
        }

        await publisher.WaitForAckAsync(offset, Wait);
        var before = await Eventually.ReturnsAsync(
            () => ClusterApi.SessionAsync(_cluster.Api, publisher.SessionId),
            s => s.GetProperty("ffmpeg").GetProperty("pid").ValueKind == JsonValueKind.Number,
            Wait,
            "FFmpeg to run");
        var owner = before.GetProperty("silo").GetString()!;
        var paused = _cluster.Silos[owner[..owner.IndexOf('@', StringComparison.Ordinal)]];

        paused.Signal("STOP");
        var since = Stopwatch.StartNew();
        try
        {
            // The next chunk goes to the paused silo and hangs there; the gateway must give up on that attempt.
            await publisher.SendAsync(offset, chunks[6]);
            offset += chunks[6].Length;
            await publisher.WaitForAckAsync(offset, Wait);
            var stall = since.Elapsed;
            output.WriteLine($"chunk acknowledged {stall.TotalSeconds:0.0} s after the owning silo was paused");

            var after = await ClusterApi.SessionAsync(_cluster.Api, publisher.SessionId);
            Assert.NotEqual(owner, after.GetProperty("silo").GetString());
            Assert.Equal("active", after.GetProperty("state").GetString());
            Assert.True(stall < GrainCallTimeout / 2, $"the chunk was acknowledged {stall} after the pause; the grain-call timeout is {GrainCallTimeout}");
        }
        finally
        {
            paused.Signal("CONT");
        }

        foreach (var chunk in chunks.Skip(7))
        {
            await publisher.SendAsync(offset, chunk);
            offset += chunk.Length;
        }

        await publisher.WaitForAckAsync(capture.Bytes.Length, Wait);
        await publisher.EndAsync();
        var archive = await _cluster.Api.GetByteArrayAsync($"/api/sessions/{publisher.SessionId}/archive");
        Assert.Equal(capture.Bytes, archive);
    }
}

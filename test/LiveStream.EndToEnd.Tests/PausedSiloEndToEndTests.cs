using System.Diagnostics;
using System.Text.Json;
using LiveStream.Testing;
using Xunit.Abstractions;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// Two silos and one gateway on a real redis-server, with the gateway's grain-call timeout at 60 s: a chunk write in
/// flight to a silo that stops answering (SIGSTOP: its connections stay open, so nothing fails fast) must not wait
/// for that timeout. Slow suite (about half a minute).
/// </summary>
[Trait("Category", "Slow")]
public sealed class PausedSiloEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Without the per-attempt bound the chunk waits for the grain-call timeout; with it, for the pause to be noticed:
    // membership declaring the silo dead, the gateway's silo list refresh, the lease's TTL, the retry backoff. That
    // takes about 5 s on an idle machine and was seen at 13 s on a busy 2-core one, so the timeout is set far above
    // it and the bound is its half: the two cases stay 30 s apart.
    private static readonly TimeSpan GrainCallTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Wait = GrainCallTimeout + TimeSpan.FromSeconds(30);
    private RedisCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await RedisCluster.StartAsync(
            "paused",
            silos: 2,
            gateways: 1,
            [.. RedisCluster.FastDeathDetection,
            $"--LiveStream:Ingest:GrainCallTimeout={GrainCallTimeout}",
            // PAUSED_TEST_ATTEMPT=00:01:00 turns the bound off, to watch this test fail (the chunk then waits 60 s).
            $"--LiveStream:Ingest:WriteAttemptTimeout={Environment.GetEnvironmentVariable("PAUSED_TEST_ATTEMPT") ?? "00:00:01"}"]);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact(Timeout = 300_000)]
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
        await Eventually.ReturnsAsync(
            () => ClusterApi.SessionAsync(_cluster.Api, publisher.SessionId),
            s => s.GetProperty("ffmpeg").GetProperty("pid").ValueKind == JsonValueKind.Number,
            Wait,
            "FFmpeg to run");

        // Read just before the pause: on a busy machine the session may have moved since FFmpeg started (its lease
        // lapsed while the silo was starved, and the next chunk picked it up on the other silo), and pausing the silo
        // it left tests nothing (seen: "acknowledged 0.1 s after the pause", then a status read stuck on that silo).
        var owner = (await ClusterApi.SessionAsync(_cluster.Api, publisher.SessionId)).GetProperty("silo").GetString()!;
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

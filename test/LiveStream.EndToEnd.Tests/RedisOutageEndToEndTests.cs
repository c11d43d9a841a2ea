using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// A silo and a gateway clustered through a real redis-server with append-only persistence. Slow suite (about a
/// minute): a 10 s Redis outage, through which nothing unstored is acknowledged and no FFmpeg outlives its lease.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RedisOutageEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private RedisCluster _cluster = null!;
    private HttpClient _api = null!;
    private RedisServer _redis = null!;

    public async Task InitializeAsync()
    {
        _cluster = await RedisCluster.StartAsync("redis", silos: 1, gateways: 1);
        (_api, _redis) = (_cluster.Api, _cluster.Redis);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact(Timeout = 180_000)]
    public async Task A_10_second_redis_outage_acknowledges_nothing_unstored_fences_ffmpeg_refuses_new_publishers_and_the_session_resumes_with_every_byte()
    {
        var capture = MediaCapture.Load("audio-only-opus");
        var live = await CreateAsync();
        var waiting = await CreateAsync();
        var publisher = await V1Publisher.ConnectAsync(live.IngestUrl);
        var chunks = capture.Chunks().ToList();
        long offset = 0;
        foreach (var chunk in chunks.Take(4))
        {
            await publisher.SendAsync(offset, chunk);
            offset += chunk.Length;
        }

        await publisher.WaitForAckAsync(offset, Wait);
        var acked = publisher.Acked;
        var sessionId = publisher.SessionId;
        var pid = (await SessionAsync(sessionId)).GetProperty("ffmpeg").GetProperty("pid").GetInt32();

        await _redis.StopAsync();
        var outage = Stopwatch.StartNew();

        // The publisher goes on sending; the silo commits but cannot store the offset, so nothing is acknowledged.
        foreach (var chunk in chunks.Skip(4).Take(4))
        {
            await publisher.SendAsync(offset, chunk);
            offset += chunk.Length;
        }

        // Its lease can no longer be proven: FFmpeg is killed before the lease could be granted to anyone else, and the
        // publisher is told to reconnect.
        await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pid), Wait, "the fenced-off FFmpeg to be killed");
        Assert.True(outage.Elapsed < TimeSpan.FromSeconds(10), $"FFmpeg ran {outage.Elapsed} into the outage");
        var moved = await publisher.ServerClose.WaitAsync(Wait);
        Assert.Equal(1012, (int)moved!.CloseStatus!.Value);
        Assert.Equal(acked, publisher.Acked);
        await publisher.DisposeAsync();

        // A new publisher is refused at once: nobody can prove it would be the stream's only FFmpeg.
        await using (var refused = await Publisher.ConnectAsync(waiting.IngestUrl))
        {
            var close = await refused.ServerClose.WaitAsync(Wait);
            Assert.Equal(4503, (int)close!.CloseStatus!.Value);
        }

        while (outage.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }

        // Redis comes back from its append-only file. The publisher reconnects, as the protocol says, and the same
        // session resumes where its acknowledged bytes end, with a new FFmpeg.
        await _redis.RestartAsync();
        await using var resumed = (await Eventually.ReturnsAsync(
            () => V1Publisher.ConnectAsync(live.IngestUrl).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default),
            p => p is not null,
            Wait,
            "the publisher to be accepted again after the outage"))!;
        Assert.Equal(sessionId, resumed.SessionId);
        Assert.Equal(acked, resumed.ResumeFrom);
        await resumed.SendRangeAsync(capture.Bytes, resumed.ResumeFrom, capture.Bytes.Length, 16 * 1024);
        await resumed.WaitForAckAsync(capture.Bytes.Length, Wait);
        var after = await SessionAsync(sessionId);
        Assert.Equal("active", after.GetProperty("state").GetString());
        Assert.NotEqual(pid, after.GetProperty("ffmpeg").GetProperty("pid").GetInt32());
        await resumed.EndAsync();
        await resumed.ServerClose.WaitAsync(Wait);
        var archive = await _api.GetByteArrayAsync($"/api/sessions/{sessionId}/archive");
        Assert.Equal(capture.Sha256, Convert.ToHexString(SHA256.HashData(archive)));

        await using var recovered = (await Eventually.ReturnsAsync(
            () => V1Publisher.ConnectAsync(waiting.IngestUrl).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default),
            p => p is not null,
            Wait,
            "a new publisher to be accepted after the outage"))!;
        await recovered.SendAsync(0, chunks[0]);
        await recovered.WaitForAckAsync(chunks[0].Length, Wait);
        await recovered.EndAsync();
    }

    private Task<CreatedStream> CreateAsync() => ClusterApi.CreateStreamAsync(_api);

    private Task<JsonElement> SessionAsync(string id) => ClusterApi.SessionAsync(_api, id);
}

using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// A silo and a gateway clustered through a real redis-server with append-only persistence. Slow suite (about a
/// minute): it rides out a 10 s Redis outage.
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
    public async Task A_10_second_redis_outage_leaves_live_sessions_streaming_refuses_new_ones_with_4503_and_recovers()
    {
        var capture = MediaCapture.Load("audio-only-opus");
        var live = await CreateAsync();
        var waiting = await CreateAsync();
        await using var publisher = await V1Publisher.ConnectAsync(live.IngestUrl);
        var chunks = capture.Chunks().ToList();
        long offset = 0;
        foreach (var chunk in chunks.Take(4))
        {
            await publisher.SendAsync(offset, chunk);
            offset += chunk.Length;
        }

        await publisher.WaitForAckAsync(offset, Wait);
        var before = await SessionAsync(publisher.SessionId);
        var pid = before.GetProperty("ffmpeg").GetProperty("pid").GetInt32();

        await _redis.StopAsync();
        var outage = Stopwatch.StartNew();

        // The live session keeps streaming and acknowledging through the outage.
        var next = 4;
        while (outage.Elapsed < TimeSpan.FromSeconds(10) && next < chunks.Count - 2)
        {
            await publisher.SendAsync(offset, chunks[next]);
            offset += chunks[next++].Length;
            await publisher.WaitForAckAsync(offset, Wait);
            await Task.Delay(500);
        }

        // A new publisher is refused at once: nobody can prove it would be the stream's only FFmpeg.
        var refusedAfter = Stopwatch.StartNew();
        await using (var refused = await Publisher.ConnectAsync(waiting.IngestUrl))
        {
            var close = await refused.ServerClose.WaitAsync(Wait);
            Assert.Equal(4503, (int)close!.CloseStatus!.Value);
        }

        Assert.True(refusedAfter.Elapsed < TimeSpan.FromSeconds(10), $"the refusal took {refusedAfter.Elapsed}");
        while (outage.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }

        // Redis comes back from its append-only file; everything works again.
        await _redis.RestartAsync();
        foreach (var chunk in chunks.Skip(next))
        {
            await publisher.SendAsync(offset, chunk);
            offset += chunk.Length;
        }

        await publisher.WaitForAckAsync(capture.Bytes.Length, Wait);
        var during = await SessionAsync(publisher.SessionId);
        Assert.Equal(pid, during.GetProperty("ffmpeg").GetProperty("pid").GetInt32());
        Assert.Equal(0, during.GetProperty("ffmpeg").GetProperty("restarts").GetInt32());
        Assert.Equal("active", during.GetProperty("state").GetString());

        await using var recovered = await Eventually.ReturnsAsync(
            async () =>
            {
                var attempt = await V1Publisher.ConnectAsync(waiting.IngestUrl).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
                return attempt;
            },
            p => p is not null,
            Wait,
            "a new publisher to be accepted after the outage");
        await recovered!.SendAsync(0, chunks[0]);
        await recovered.WaitForAckAsync(chunks[0].Length, Wait);
        await recovered.EndAsync();

        await publisher.EndAsync();
        await publisher.ServerClose.WaitAsync(Wait);
        var archive = await _api.GetByteArrayAsync($"/api/sessions/{publisher.SessionId}/archive");
        Assert.Equal(capture.Sha256, Convert.ToHexString(SHA256.HashData(archive)));
    }

    private Task<CreatedStream> CreateAsync() => ClusterApi.CreateStreamAsync(_api);

    private Task<JsonElement> SessionAsync(string id) => ClusterApi.SessionAsync(_api, id);
}

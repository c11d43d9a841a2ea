using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>Session continuity on real processes: resume through any gateway, one publisher, protocol rules.</summary>
[Collection(ProcessCluster.Name)]
public sealed class ContinuityEndToEndTests(LiveStreamProcesses cluster)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 180_000)]
    public async Task A_reconnect_through_another_gateway_resumes_the_same_ffmpeg_byte_exactly()
    {
        var capture = MediaCapture.Load("vp8-opus");
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls", record = true }, new { type = "archive" } } });
        var chunks = capture.Chunks().ToList();
        var half = capture.ChunkSizes.Take(chunks.Count / 2).Sum();

        await using (var first = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            Assert.Equal(0, first.ResumeFrom);
            long offset = 0;
            foreach (var chunk in chunks.Take(chunks.Count / 2))
            {
                await first.SendAsync(offset, chunk);
                offset += chunk.Length;
            }

            await first.WaitForAckAsync(half, Wait);
            first.Abort();
        }

        var sessionId = (await cluster.GetJsonAsync($"/api/streams/{stream.Id}")).GetProperty("currentSessionId").GetString()!;
        var waiting = await cluster.WaitForSessionStateAsync(sessionId, "disconnected");
        var pid = waiting.GetProperty("ffmpeg").GetProperty("pid").GetInt32();
        Assert.True(ProcessProbe.IsRunning(pid));

        await using (var second = await V1Publisher.ConnectAsync(stream.IngestUrlOn(cluster.Gateway2Url)))
        {
            Assert.Equal(sessionId, second.SessionId);
            Assert.Equal(half, second.ResumeFrom);

            // Resend a little of what was acknowledged (harmless), then the rest.
            var from = Math.Max(0, second.ResumeFrom - 5000);
            await second.SendRangeAsync(capture.Bytes, from, capture.Bytes.Length, 40_000);
            await second.WaitForAckAsync(capture.Bytes.Length, Wait);
            await second.EndAsync();
            await second.ServerClose.WaitAsync(Wait);
        }

        var ended = await cluster.WaitForSessionStateAsync(sessionId, "ended", "failed");
        Assert.Equal("ended", ended.GetProperty("state").GetString());
        Assert.Equal(1, ended.GetProperty("reconnects").GetInt32());
        Assert.Equal(1, (await cluster.GetJsonAsync($"/api/streams/{stream.Id}/sessions")).GetArrayLength());
        await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pid), TimeSpan.FromSeconds(60), "FFmpeg to finish its graceful stop");

        var archive = await cluster.Api.GetByteArrayAsync($"/api/sessions/{sessionId}/archive");
        Assert.Equal(capture.Sha256, Convert.ToHexString(SHA256.HashData(archive)));
        var probe = await ProbeResult.RunAsync(new Uri(cluster.GatewayUrl, ended.GetProperty("hlsUrl").GetString()!).ToString());
        Assert.InRange(probe.DurationSeconds, capture.DurationMs / 1000 - 1, capture.DurationMs / 1000 + 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_gap_closes_with_4400_and_the_session_waits_in_its_window()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);
        await publisher.SendAsync(0, new byte[100]);

        await publisher.SendAsync(200, new byte[100]);
        var close = await publisher.ServerClose.WaitAsync(Wait);

        Assert.Equal(4400, (int)close!.CloseStatus!.Value);
        var session = await cluster.WaitForSessionStateAsync(publisher.SessionId, "disconnected");
        Assert.Equal(100, session.GetProperty("bytesIngested").GetInt64());
    }

    [Fact(Timeout = 60_000)]
    public async Task End_ends_the_session_at_once()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);
        await publisher.SendAsync(0, new byte[100]);

        await publisher.EndAsync();

        var close = await publisher.ServerClose.WaitAsync(Wait);
        Assert.Equal(1000, (int)close!.CloseStatus!.Value);
        await cluster.WaitForSessionStateAsync(publisher.SessionId, "ended");
    }

    [Theory(Timeout = 60_000)]
    [InlineData(WebSocketCloseStatus.NormalClosure, "ended")]
    [InlineData(WebSocketCloseStatus.EndpointUnavailable, "disconnected")]
    public async Task A_raw_close_with_1000_ends_and_with_1001_opens_the_window(WebSocketCloseStatus status, string expected)
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await using var publisher = await Publisher.ConnectAsync(stream.IngestUrl);
        await publisher.SendAsync(new byte[100]);
        var sessionId = await CurrentSessionAsync(stream);

        await publisher.CloseAsync(status);

        await cluster.WaitForSessionStateAsync(sessionId, expected);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_raw_close_without_status_ends_the_session()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await using var publisher = await Publisher.ConnectAsync(stream.IngestUrl);
        await publisher.SendAsync(new byte[100]);
        var sessionId = await CurrentSessionAsync(stream);

        await publisher.Socket.CloseAsync(WebSocketCloseStatus.Empty, null, CancellationToken.None);

        await cluster.WaitForSessionStateAsync(sessionId, "ended");
    }

    [Fact(Timeout = 60_000)]
    public async Task An_abrupt_drop_opens_the_window()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);
        await publisher.SendAsync(0, new byte[100]);
        await publisher.WaitForAckAsync(100, Wait);

        publisher.Abort();

        var session = await cluster.WaitForSessionStateAsync(publisher.SessionId, "disconnected");
        Assert.NotEqual(JsonValueKind.Null, session.GetProperty("disconnectedAt").ValueKind);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_gateway_that_is_stopped_closes_its_sockets_with_1012_and_the_client_resumes_through_another_byte_exactly()
    {
        var capture = MediaCapture.Load("audio-only-opus");
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls", record = true }, new { type = "archive" } } });
        var (doomed, doomedUrl) = await cluster.StartExtraGatewayAsync("gateway-drained");
        var half = capture.Bytes.Length / 2;
        string sessionId;
        await using (var first = await V1Publisher.ConnectAsync(stream.IngestUrlOn(doomedUrl)))
        {
            sessionId = first.SessionId;
            await first.SendRangeAsync(capture.Bytes, 0, half, 4096);
            await first.WaitForAckAsync(half, Wait);

            doomed.Signal("TERM");

            var close = await first.ServerClose.WaitAsync(Wait);
            Assert.Equal(1012, (int)close!.CloseStatus!.Value);
        }

        await doomed.WaitForExitAsync(Wait);
        Assert.Equal(0, doomed.ExitCode);
        await cluster.WaitForSessionStateAsync(sessionId, "disconnected");

        await using (var second = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            Assert.Equal(sessionId, second.SessionId);
            Assert.Equal(half, second.ResumeFrom);
            await second.SendRangeAsync(capture.Bytes, second.ResumeFrom, capture.Bytes.Length, 4096);
            await second.WaitForAckAsync(capture.Bytes.Length, Wait);
            await second.EndAsync();
            await second.ServerClose.WaitAsync(Wait);
        }

        var ended = await cluster.WaitForSessionStateAsync(sessionId, "ended");
        Assert.Equal(1, ended.GetProperty("reconnects").GetInt32());
        var archive = await cluster.Api.GetByteArrayAsync($"/api/sessions/{sessionId}/archive");
        Assert.Equal(capture.Sha256, Convert.ToHexString(SHA256.HashData(archive)));
    }

    [Fact(Timeout = 120_000)]
    public async Task When_the_window_expires_the_session_ends_and_the_hls_output_is_finalised()
    {
        var capture = MediaCapture.Load("audio-only-opus");
        var stream = await cluster.CreateStreamAsync(new { reconnectWindowSeconds = 1, outputs = new object[] { new { type = "hls", record = true } } });
        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);
        await publisher.SendRangeAsync(capture.Bytes, 0, capture.Bytes.Length, 8192);
        await publisher.WaitForAckAsync(capture.Bytes.Length, Wait);
        var pid = (await cluster.GetJsonAsync($"/api/sessions/{publisher.SessionId}")).GetProperty("ffmpeg").GetProperty("pid").GetInt32();

        publisher.Abort();

        var ended = await cluster.WaitForSessionStateAsync(publisher.SessionId, "ended");
        Assert.Equal("reconnect window expired", ended.GetProperty("endReason").GetString());
        await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pid), TimeSpan.FromSeconds(60), "FFmpeg to finish its graceful stop");
        var playlist = await new HttpClient().GetStringAsync(new Uri(cluster.GatewayUrl, ended.GetProperty("hlsUrl").GetString()!));
        Assert.Contains("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_second_publisher_on_another_gateway_takes_over_and_the_idle_old_socket_gets_4409()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "archive" } } });
        var oldBytes = RandomNumberGenerator.GetBytes(1000);
        var newBytes = RandomNumberGenerator.GetBytes(2000);
        await using var older = await V1Publisher.ConnectAsync(stream.IngestUrl);
        await older.SendAsync(0, oldBytes);
        await older.WaitForAckAsync(1000, Wait);

        await using var newer = await V1Publisher.ConnectAsync(stream.IngestUrlOn(cluster.Gateway2Url));
        var close = await older.ServerClose.WaitAsync(Wait);
        await older.SendAsync(1000, new byte[500]).ContinueWith(_ => { }, TaskScheduler.Default); // never written
        await newer.SendAsync(newer.ResumeFrom, newBytes);
        await newer.WaitForAckAsync(3000, Wait);
        await newer.EndAsync();

        Assert.Equal(4409, (int)close!.CloseStatus!.Value);
        Assert.Equal(older.SessionId, newer.SessionId);
        Assert.Equal(1000, newer.ResumeFrom);
        var ended = await cluster.WaitForSessionStateAsync(newer.SessionId, "ended");
        Assert.Equal(1, ended.GetProperty("supersededPublishers").GetInt32());
        Assert.Equal(2, ended.GetProperty("connectionEpoch").GetInt32());
        var archive = await cluster.Api.GetByteArrayAsync($"/api/sessions/{newer.SessionId}/archive");
        Assert.Equal([.. oldBytes, .. newBytes], archive);
    }

    [Fact(Timeout = 60_000)]
    public async Task With_policy_reject_a_second_publisher_gets_4423_and_the_first_keeps_streaming()
    {
        var stream = await cluster.CreateStreamAsync(new { duplicatePolicy = "reject", outputs = new object[] { new { type = "null" } } });
        await using var first = await V1Publisher.ConnectAsync(stream.IngestUrl);
        await first.SendAsync(0, new byte[100]);

        await using var second = await Publisher.ConnectAsync(stream.IngestUrlOn(cluster.Gateway2Url));
        var close = await second.ServerClose.WaitAsync(Wait);
        await first.SendAsync(100, new byte[100]);
        await first.WaitForAckAsync(200, Wait);

        Assert.Equal(4423, (int)close!.CloseStatus!.Value);
        Assert.False(first.ServerClose.IsCompleted);
        await first.EndAsync();
    }

    [Fact(Timeout = 300_000)]
    [Trait("Category", "Slow")]
    public async Task A_reconnect_storm_of_10_sessions_with_10_drops_each_loses_and_duplicates_nothing()
    {
        var capture = MediaCapture.Load("audio-only-opus");
        var streams = new List<CreatedStream>();
        for (var i = 0; i < 10; i++)
        {
            streams.Add(await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls", record = true }, new { type = "archive" } } }));
        }

        var results = await Task.WhenAll(streams.Select((s, i) => PublishWithDropsAsync(s, capture, drops: 10, seed: i)));

        foreach (var (sessionId, pids) in results)
        {
            var ended = await cluster.WaitForSessionStateAsync(sessionId, "ended", "failed");
            Assert.Equal("ended", ended.GetProperty("state").GetString());
            Assert.Equal(10, ended.GetProperty("reconnects").GetInt32());
            Assert.Single(pids.Distinct());
            await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pids[0]), TimeSpan.FromSeconds(60), "FFmpeg to finish its graceful stop");
            var archive = await cluster.Api.GetByteArrayAsync($"/api/sessions/{sessionId}/archive");
            Assert.Equal(capture.Sha256, Convert.ToHexString(SHA256.HashData(archive)));
        }

        // None of their FFmpegs is left (other suites' live sessions share the data folder).
        Assert.All(results, r => Assert.Empty(ProcessProbe.FindFfmpegUnder(Path.Combine(cluster.DataPath, "hls", r.SessionId))));
    }

    private async Task<(string SessionId, List<int> Pids)> PublishWithDropsAsync(CreatedStream stream, MediaCapture capture, int drops, int seed)
    {
        var random = new Random(seed);
        var dropAt = Enumerable.Range(0, drops).Select(_ => random.Next(1, capture.Bytes.Length)).Order().ToList();
        var pids = new List<int>();
        string? sessionId = null;
        var gateways = new[] { cluster.GatewayUrl, cluster.Gateway2Url };
        for (var attempt = 0; attempt <= drops; attempt++)
        {
            await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrlOn(gateways[attempt % 2]));
            sessionId ??= publisher.SessionId;
            Assert.Equal(sessionId, publisher.SessionId);

            // The client holds everything, so it resends from resumeFrom: the protocol's normal resume.
            var end = attempt < drops ? Math.Max(dropAt[attempt], publisher.ResumeFrom) : capture.Bytes.Length;
            await publisher.SendRangeAsync(capture.Bytes, publisher.ResumeFrom, end, 4096);
            await publisher.WaitForAckAsync(end, Wait);
            var session = await cluster.GetJsonAsync($"/api/sessions/{sessionId}");
            if (session.GetProperty("ffmpeg").GetProperty("pid").ValueKind == JsonValueKind.Number)
            {
                pids.Add(session.GetProperty("ffmpeg").GetProperty("pid").GetInt32());
            }

            if (attempt < drops)
            {
                publisher.Abort();
                await cluster.WaitForSessionStateAsync(sessionId, "disconnected");
            }
            else
            {
                await publisher.WaitForAckAsync(capture.Bytes.Length, Wait);
                await publisher.EndAsync();
                await publisher.ServerClose.WaitAsync(Wait);
            }
        }

        return (sessionId!, pids);
    }

    private async Task<string> CurrentSessionAsync(CreatedStream stream)
    {
        var info = await Eventually.ReturnsAsync(
            () => cluster.GetJsonAsync($"/api/streams/{stream.Id}"),
            s => s.GetProperty("currentSessionId").ValueKind == JsonValueKind.String,
            Wait,
            "the stream to go live");
        return info.GetProperty("currentSessionId").GetString()!;
    }
}

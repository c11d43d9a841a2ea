using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>The whole path on real processes: WebSocket → gateway process → grain on a silo process → FFmpeg → HLS.</summary>
[Collection(ProcessCluster.Name)]
public sealed partial class IngestEndToEndTests(LiveStreamProcesses cluster)
{
    [Fact(Timeout = 180_000)]
    public async Task A_20_second_capture_streams_through_one_connection_to_hls_and_a_byte_exact_archive()
    {
        var capture = MediaCapture.Load("vp8-opus");
        var stream = await cluster.CreateStreamAsync(new { name = "e2e", outputs = new object[] { new { type = "hls", record = true }, new { type = "archive" } } });

        await using var publisher = await Publisher.ConnectAsync(stream.IngestUrl);
        var chunks = capture.Chunks().ToList();
        await publisher.SendAsync(chunks[0]);
        var live = await Eventually.ReturnsAsync(
            async () =>
            {
                var info = await cluster.GetJsonAsync($"/api/streams/{stream.Id}");
                return info.GetProperty("currentSessionId").GetString() is { } id ? await cluster.GetJsonAsync($"/api/sessions/{id}") : info;
            },
            s => s.TryGetProperty("ffmpeg", out var ffmpeg) && ffmpeg.GetProperty("pid").ValueKind == System.Text.Json.JsonValueKind.Number,
            TimeSpan.FromSeconds(30),
            "FFmpeg to start once the init segment arrived");
        var sessionId = live.GetProperty("id").GetString()!;
        var pid = live.GetProperty("ffmpeg").GetProperty("pid").GetInt32();
        Assert.True(ProcessProbe.IsRunning(pid));
        Assert.Equal("vp8", live.GetProperty("video").GetProperty("codec").GetString());
        Assert.False(live.GetProperty("video").GetProperty("passthrough").GetBoolean());

        foreach (var chunk in chunks.Skip(1))
        {
            await publisher.SendAsync(chunk);
            Assert.False(publisher.ServerClose.IsCompleted, "the server closed the connection mid-stream");
        }

        await publisher.CloseAsync();
        var ended = await cluster.WaitForSessionStateAsync(sessionId, "ended", "failed");

        Assert.Equal("ended", ended.GetProperty("state").GetString());
        Assert.Equal(capture.Bytes.Length, ended.GetProperty("bytesIngested").GetInt64());
        Assert.Equal(1, ended.GetProperty("connectionEpoch").GetInt32());
        Assert.Equal(0, ended.GetProperty("reconnects").GetInt32());
        Assert.Equal(JsonValueKindNull, ended.GetProperty("ffmpeg").GetProperty("pid").ValueKind);
        // The session answers `end` after at most EndWait; FFmpeg finishes its graceful stop (bounded by its own
        // timeouts) in the background, which takes longer on a busy machine.
        await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pid), TimeSpan.FromSeconds(60), "ffmpeg to finish its graceful stop");

        // One connection, one session: nothing reconnected behind our back.
        var sessions = await cluster.GetJsonAsync($"/api/streams/{stream.Id}/sessions");
        Assert.Equal(1, sessions.GetArrayLength());

        var playlistUrl = new Uri(cluster.GatewayUrl, ended.GetProperty("hlsUrl").GetString()!);
        var playlist = await new HttpClient().GetStringAsync(playlistUrl);
        Assert.Contains("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", playlist, StringComparison.Ordinal);
        var probe = await ProbeResult.RunAsync(playlistUrl.ToString());
        Assert.Equal(["h264"], probe.VideoCodecs);
        Assert.Equal(["aac"], probe.AudioCodecs);
        Assert.InRange(probe.DurationSeconds, capture.DurationMs / 1000 - 1, capture.DurationMs / 1000 + 1);

        var archive = await cluster.Api.GetByteArrayAsync($"/api/sessions/{sessionId}/archive");
        Assert.Equal(capture.Sha256, Convert.ToHexString(SHA256.HashData(archive)));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unknown_key_completes_the_upgrade_and_closes_with_4401()
    {
        var url = new Uri(cluster.GatewayUrl.ToString().Replace("http", "ws", StringComparison.Ordinal) + "stream/live/lsk_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));

        await using var publisher = await Publisher.ConnectAsync(url);
        var close = await publisher.ServerClose.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.NotNull(close);
        Assert.Equal(4401, (int)close.CloseStatus!.Value);
        Assert.Equal("unknown stream key", close.CloseStatusDescription);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_plain_http_request_to_the_ingest_path_gets_426()
    {
        using var http = new HttpClient();

        using var response = await http.GetAsync(new Uri(cluster.GatewayUrl, "/stream/live/whatever"));

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_text_frame_in_raw_mode_closes_with_4400_and_ends_nothing_else()
    {
        var bystander = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        var offender = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await using var good = await Publisher.ConnectAsync(bystander.IngestUrl);
        await good.SendAsync(new byte[1000]);
        await using var bad = await Publisher.ConnectAsync(offender.IngestUrl);

        await bad.Socket.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var close = await bad.ServerClose.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(4400, (int)close!.CloseStatus!.Value);
        await good.SendAsync(new byte[1000]);
        var status = await Eventually.ReturnsAsync(
            () => cluster.GetJsonAsync($"/api/streams/{bystander.Id}/sessions"),
            s => s[0].GetProperty("bytesIngested").GetInt64() == 2000,
            TimeSpan.FromSeconds(30),
            "the bystander to keep streaming");
        Assert.Equal("active", status[0].GetProperty("state").GetString());
        Assert.False(good.ServerClose.IsCompleted);
        await good.CloseAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Bytes_that_are_not_media_close_with_4415_and_fail_the_session()
    {
        var stream = await cluster.CreateStreamAsync();
        await using var publisher = await Publisher.ConnectAsync(stream.IngestUrl);

        await publisher.SendAsync("this is not a WebM or MP4 stream at all"u8.ToArray());
        var close = await publisher.ServerClose.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(4415, (int)close!.CloseStatus!.Value);
        Assert.StartsWith("unsupported media", close.CloseStatusDescription, StringComparison.Ordinal);
        var sessions = await cluster.GetJsonAsync($"/api/streams/{stream.Id}/sessions");
        Assert.Equal("failed", sessions[0].GetProperty("state").GetString());
        Assert.Empty(ProcessProbe.FindFfmpegUnder(Path.Combine(cluster.DataPath, "hls", sessions[0].GetProperty("id").GetString()!)));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_message_over_the_limit_closes_with_1009()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await using var publisher = await Publisher.ConnectAsync(stream.IngestUrl);

        await publisher.SendAsync(new byte[LiveStreamProcesses.MaxMessageBytes + 1]);
        var close = await publisher.ServerClose.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1009, (int)close!.CloseStatus!.Value);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_admin_api_refuses_calls_without_the_token()
    {
        using var http = new HttpClient { BaseAddress = cluster.GatewayUrl };

        using var response = await http.PostAsync("/api/streams", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task No_stream_key_admin_token_or_keyed_ingest_path_appears_in_any_log()
    {
        // Exercise every path that sees a key: a publisher, a wrong key, an API call, a 426.
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await using (var publisher = await Publisher.ConnectAsync(stream.IngestUrl))
        {
            await publisher.SendAsync(new byte[100]);
            await publisher.CloseAsync();
        }

        var wrongKey = "lsk_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        cluster.Secrets.Add(wrongKey);
        await using (var wrong = await Publisher.ConnectAsync(new Uri(stream.IngestUrl.ToString().Replace(stream.Key, wrongKey, StringComparison.Ordinal))))
        {
            await wrong.ServerClose.WaitAsync(TimeSpan.FromSeconds(30));
        }

        using (var http = new HttpClient())
        {
            await http.GetAsync(new Uri(cluster.GatewayUrl, "/stream/live/" + stream.Key));
        }

        await cluster.GetJsonAsync($"/api/streams/{stream.Id}");

        // The request logs of all of the above are written by now; the logs were at Debug level all along.
        await Eventually.HoldsAsync(
            () => cluster.Gateway.Output.Any(l => l.Contains("/stream/live/[redacted]", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10),
            "the gateway's redacted request log");
        var output = cluster.AllOutput.ToList();
        Assert.NotEmpty(output);
        foreach (var secret in cluster.Secrets)
        {
            Assert.DoesNotContain(output, line => line.Contains(secret, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(output, line => KeyedIngestPath().IsMatch(line));
    }

    private const System.Text.Json.JsonValueKind JsonValueKindNull = System.Text.Json.JsonValueKind.Null;

    [GeneratedRegex(@"/stream/live/(?!\[redacted\]|\{streamKey\})[^\s/]+", RegexOptions.CultureInvariant)]
    private static partial Regex KeyedIngestPath();
}

using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// The Go Live page and <c>/client/livestream.js</c> in a real headless Chromium (fake camera and microphone),
/// publishing to the silo and gateway processes. Socket drops go through a loopback TCP proxy the test cuts.
/// </summary>
[Collection(ProcessCluster.Name)]
public sealed partial class BrowserEndToEndTests(LiveStreamProcesses cluster, ChromiumBrowser browser) : IClassFixture<ChromiumBrowser>
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 240_000)]
    public async Task Going_live_for_20_s_survives_two_dropped_sockets_with_one_ffmpeg_an_exact_archive_and_a_finalised_playlist()
    {
        var stream = await CreateStreamAsync();
        await using var proxy = new LoopbackTcpProxy(cluster.GatewayUrl);
        await using var page = await browser.OpenAsync(new Uri(proxy.Url, "/?debug"));
        var pids = new HashSet<int>();

        await StartAsync(page, stream.Key);
        await page.WaitForAsync("goLive.controller?.state === 'live' && status() === 'live'".Replace("status()", StatusText, StringComparison.Ordinal), Step, "the page to go live");
        var sessionId = (await page.EvaluateAsync("goLive.controller.sessionId")).GetString()!;
        Assert.Equal("video/webm;codecs=h264,opus", (await page.EvaluateAsync("goLive.controller.mimeType")).GetString());

        // Two drops, each after some seconds of media; the recorder's 500 ms timeslice is the clock.
        foreach (var (chunks, resumes) in new[] { (10, 1), (24, 2) })
        {
            await WaitSamplingAsync(page, sessionId, pids, $"goLive.chunks.length >= {chunks} && goLive.controller.stats.bytesAcked > 0", $"{chunks} recorder chunks");
            Assert.True(proxy.CutAll() >= 1, "no connection to cut");
            await WaitSamplingAsync(page, sessionId, pids, $"goLive.events.filter(e => e.type === 'resumed').length >= {resumes}", $"resume {resumes}");
        }

        await WaitSamplingAsync(page, sessionId, pids, "goLive.chunks.length >= 40", "20 s of recording");
        var live = await cluster.GetJsonAsync($"/api/sessions/{sessionId}");
        Assert.Equal("h264", live.GetProperty("video").GetProperty("codec").GetString());
        Assert.True(live.GetProperty("video").GetProperty("passthrough").GetBoolean(), "H.264 from the browser is passed through");
        Assert.Contains("passed through", (await page.EvaluateAsync("document.getElementById('codec').textContent")).GetString(), StringComparison.Ordinal);

        // Stop sends end: the session ends at once (well inside its 30 s reconnect window) and the playlist is final.
        await page.EvaluateAsync("document.getElementById('stop').click()");
        var ended = await Eventually.ReturnsAsync(
            () => cluster.GetJsonAsync($"/api/sessions/{sessionId}"),
            s => s.GetProperty("state").GetString() is "ended" or "failed",
            TimeSpan.FromSeconds(15),
            "the session to end after Stop");
        Assert.Equal("ended", ended.GetProperty("state").GetString());
        Assert.Equal("publisher ended", ended.GetProperty("endReason").GetString());
        await page.WaitForAsync($"{StatusText} === 'ended'", Step, "the page to show ended");
        Assert.Equal(2, ended.GetProperty("reconnects").GetInt32());
        Assert.Equal(0, ended.GetProperty("ffmpeg").GetProperty("restarts").GetInt32());
        Assert.Single(pids);
        Assert.Equal(1, (await page.EvaluateAsync("goLive.controller.stats.recordings")).GetInt32());

        var playlistUrl = new Uri(cluster.GatewayUrl, ended.GetProperty("hlsUrl").GetString()!);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var playlist = await Eventually.ReturnsAsync(() => http.GetStringAsync(playlistUrl), p => p.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal), Step, "#EXT-X-ENDLIST");
        // One FFmpeg wrote it all: no discontinuity anywhere.
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", playlist, StringComparison.Ordinal);

        // The archive is exactly the recorder's chunks, concatenated.
        var archive = await cluster.Api.GetByteArrayAsync($"/api/sessions/{sessionId}/archive");
        var recorded = await page.EvaluateAsync(
            """
            (async () => {
              const bytes = await new Blob(goLive.chunks).arrayBuffer();
              const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
              return { length: bytes.byteLength, sha256: [...hash].map(b => b.toString(16).padStart(2, '0')).join('') };
            })()
            """);
        Assert.Equal(recorded.GetProperty("length").GetInt64(), archive.LongLength);
        Assert.Equal(recorded.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(archive)));

        var archiveFile = Path.Combine(cluster.DataPath, $"browser-{sessionId}.mkv");
        await File.WriteAllBytesAsync(archiveFile, archive);
        var archiveSeconds = await ProbeResult.PacketDurationAsync(archiveFile);
        var hlsSeconds = PlaylistSeconds(playlist);
        Assert.InRange(archiveSeconds, 19, 40);
        Assert.InRange(hlsSeconds, archiveSeconds - 1, archiveSeconds + 1);

        AssertNoErrors(page);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_second_page_with_the_same_key_takes_over_and_the_first_shows_superseded_and_stops_sending()
    {
        var stream = await CreateStreamAsync();
        await using var first = await browser.OpenAsync(new Uri(cluster.GatewayUrl, "/"));
        await StartAsync(first, stream.Key);
        await first.WaitForAsync("goLive.controller?.stats.bytesAcked > 0", Step, "the first page to send");
        var sessionId = (await first.EvaluateAsync("goLive.controller.sessionId")).GetString()!;

        await using var second = await browser.OpenAsync(new Uri(cluster.GatewayUrl, "/"));
        await StartAsync(second, stream.Key);
        await first.WaitForAsync($"{StatusText} === 'superseded'", Step, "the first page to show superseded");
        Assert.Contains("Superseded", (await first.EvaluateAsync("document.getElementById('message').textContent")).GetString(), StringComparison.Ordinal);
        Assert.Equal("ended", (await first.EvaluateAsync("goLive.controller.state")).GetString());
        Assert.Equal(4409, (await first.EvaluateAsync("goLive.events.find(e => e.type === 'error').detail.code")).GetInt32());

        // The first page stays silent while the second keeps publishing into the same session.
        var sentBefore = (await first.EvaluateAsync("goLive.controller.stats.bytesSent")).GetInt64();
        var ackedSecond = (await second.EvaluateAsync("goLive.controller.stats.bytesAcked")).GetInt64();
        await second.WaitForAsync($"goLive.controller.stats.bytesAcked > {ackedSecond + 100_000}", Step, "the second page to publish");
        Assert.Equal(sentBefore, (await first.EvaluateAsync("goLive.controller.stats.bytesSent")).GetInt64());
        Assert.Equal(sessionId, (await second.EvaluateAsync("goLive.controller.sessionId")).GetString());
        Assert.Equal(1, (await cluster.GetJsonAsync($"/api/sessions/{sessionId}")).GetProperty("supersededPublishers").GetInt32());

        await second.EvaluateAsync("goLive.controller.stop()");
        await cluster.WaitForSessionStateAsync(sessionId, "ended");
        AssertNoErrors(first);
        AssertNoErrors(second);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_invalid_key_shows_a_clear_message_and_does_not_retry()
    {
        await using var page = await browser.OpenAsync(new Uri(cluster.GatewayUrl, "/"));
        await StartAsync(page, "lsk_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));

        await page.WaitForAsync($"{StatusText} === 'invalid key'", Step, "the page to show invalid key");
        Assert.Contains("Invalid stream key", (await page.EvaluateAsync("document.getElementById('message').textContent")).GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await page.EvaluateAsync("goLive.events.filter(e => e.type === 'reconnecting').length")).GetInt32());
        AssertNoErrors(page);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_denied_camera_permission_shows_a_clear_message()
    {
        // --use-fake-ui-for-media-stream grants every request, so the denial is what getUserMedia answers when the
        // user clicks "Block": a NotAllowedError.
        await using var page = await browser.OpenAsync(
            new Uri(cluster.GatewayUrl, "/"),
            "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));");

        await page.WaitForAsync($"{StatusText} === 'camera denied'", Step, "the page to show the denied camera");
        Assert.Contains("permission was denied", (await page.EvaluateAsync("document.getElementById('message').textContent")).GetString(), StringComparison.Ordinal);
        AssertNoErrors(page);
    }

    private static void AssertNoErrors(BrowserPage page) => Assert.True(page.Errors.Count == 0, string.Join('\n', page.Errors));

    private const string StatusText = "document.getElementById('status').textContent";

    [Fact(Timeout = 180_000)]
    public async Task The_go_live_preview_plays_the_sessions_hls_in_chromium_through_the_gateways_hls_js()
    {
        var stream = await CreateStreamAsync();
        await using var page = await browser.OpenAsync(new Uri(cluster.GatewayUrl, "/?debug"));

        await StartAsync(page, stream.Key);
        await page.WaitForAsync("goLive.controller?.state === 'live'", Step, "the page to go live");

        await page.WaitForAsync("document.getElementById('hls').currentTime > 1", Step, "the preview to play");
        var first = (await page.EvaluateAsync("document.getElementById('hls').currentTime")).GetDouble();
        await page.WaitForAsync($"document.getElementById('hls').currentTime > {(first + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)}", Step, "the preview to keep playing");
        Assert.False((await page.EvaluateAsync("document.getElementById('hls').paused")).GetBoolean());

        await page.EvaluateAsync("document.getElementById('stop').click()");
        await page.WaitForAsync($"{StatusText} === 'ended'", Step, "the page to show ended");
    }

    [Theory(Timeout = 240_000)]
    [InlineData("video/webm;codecs=h264,opus")]
    [InlineData("video/webm;codecs=vp8,opus")]
    [InlineData("video/mp4;codecs=avc1,opus")]
    public async Task A_tab_closed_mid_recording_and_a_new_tab_with_the_same_key_continue_one_session_in_one_ffmpeg_with_no_discontinuity(string mime)
    {
        var stream = await CreateStreamAsync();
        var page = new Uri(cluster.GatewayUrl, "/?debug&mime=" + Uri.EscapeDataString(mime));
        var pids = new HashSet<int>();
        string sessionId;
        double recorded;
        await using (var first = await browser.OpenAsync(page))
        {
            await StartAsync(first, stream.Key);
            await first.WaitForAsync("goLive.controller?.state === 'live'", Step, "the first tab to go live");
            sessionId = (await first.EvaluateAsync("goLive.controller.sessionId")).GetString()!;
            await WaitSamplingAsync(first, sessionId, pids, $"{RecordedSeconds} >= 6 && goLive.controller.stats.bytesAcked > 0", "6 s in the first tab");
            recorded = (await first.EvaluateAsync(RecordedSeconds)).GetDouble();

            // The tab is closed: no end, no flush of the recorder; its last chunk stops where it stops.
        }

        await using var second = await browser.OpenAsync(page);
        await StartAsync(second, stream.Key);
        await second.WaitForAsync("goLive.controller?.state === 'live'", Step, "the second tab to go live");
        Assert.Equal(mime, (await second.EvaluateAsync("goLive.controller.mimeType")).GetString());
        Assert.Equal(sessionId, (await second.EvaluateAsync("goLive.controller.sessionId")).GetString());
        await WaitSamplingAsync(second, sessionId, pids, $"{RecordedSeconds} >= 6", "6 s in the second tab");
        recorded += (await second.EvaluateAsync(RecordedSeconds)).GetDouble();
        await second.EvaluateAsync("document.getElementById('stop').click()");

        var ended = await Eventually.ReturnsAsync(
            () => cluster.GetJsonAsync($"/api/sessions/{sessionId}"),
            s => s.GetProperty("state").GetString() is "ended" or "failed",
            TimeSpan.FromSeconds(30),
            "the session to end after Stop");
        Assert.True(ended.GetProperty("state").GetString() == "ended", $"the session {ended.GetProperty("state")}: {ended}");
        Assert.True(ended.GetProperty("reconnects").GetInt32() + ended.GetProperty("supersededPublishers").GetInt32() >= 1);
        Assert.Equal(0, ended.GetProperty("ffmpeg").GetProperty("restarts").GetInt32());
        Assert.Single(pids);

        var playlistUrl = new Uri(cluster.GatewayUrl, ended.GetProperty("hlsUrl").GetString()!);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var playlist = await Eventually.ReturnsAsync(() => http.GetStringAsync(playlistUrl), p => p.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal), Step, "#EXT-X-ENDLIST");
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", playlist, StringComparison.Ordinal);
        var seconds = await ProbeResult.PacketDurationAsync(playlistUrl.ToString());
        Assert.True(seconds >= 0.97 * recorded - 1, $"{seconds:0.00} s of HLS for {recorded:0.0} s recorded in the two tabs");

        // Every frame the two tabs recorded and sent is in the archive, one recording after the other; at least 97%
        // of them reach HLS (the frame the first tab was cut inside cannot), and their timestamps only go forward.
        var archive = await cluster.Api.GetByteArrayAsync($"/api/sessions/{sessionId}/archive");
        var recordedFrames = await RecordedVideoFramesAsync(archive, mime.StartsWith("video/mp4", StringComparison.Ordinal) ? "ftyp"u8.ToArray() : [0x1A, 0x45, 0xDF, 0xA3]);
        var video = await ProbeResult.VideoPacketTimesAsync(playlistUrl.ToString());
        Assert.True(video.Count >= 0.97 * recordedFrames, $"{video.Count} of {recordedFrames} recorded video frames in HLS");
        for (var i = 1; i < video.Count; i++)
        {
            Assert.True(video[i] > video[i - 1], $"video time went from {video[i - 1]} to {video[i]} at frame {i}");
        }
    }

    /// <summary>
    /// The video frames of each recording in an archive, counted by ffprobe: the archive is split where each recording's
    /// header (<paramref name="magic"/>, an EBML ID or MP4's <c>ftyp</c>) starts.
    /// </summary>
    private async Task<int> RecordedVideoFramesAsync(byte[] archive, byte[] magic)
    {
        var starts = new List<int>();
        for (var at = archive.AsSpan().IndexOf(magic); at >= 0;)
        {
            starts.Add(magic[0] == (byte)'f' ? at - 4 : at);
            var next = archive.AsSpan(at + 1).IndexOf(magic);
            at = next < 0 ? -1 : at + 1 + next;
        }

        Assert.True(starts.Count >= 2, $"{starts.Count} recordings in the archive");
        var frames = 0;
        for (var i = 0; i < starts.Count; i++)
        {
            var file = Path.Combine(cluster.DataPath, $"recording-{Guid.NewGuid():N}");
            await File.WriteAllBytesAsync(file, archive[starts[i]..(i + 1 < starts.Count ? starts[i + 1] : archive.Length)]);
            frames += (await ProbeResult.VideoPacketTimesAsync(file)).Count;
            File.Delete(file);
        }

        return frames;
    }

    /// <summary>Seconds since the page's recorder delivered its first chunk (0 before).</summary>
    private const string RecordedSeconds = "(goLive.firstChunkAt === null ? 0 : (performance.now() - goLive.firstChunkAt) / 1000)";

    private Task<CreatedStream> CreateStreamAsync() =>
        cluster.CreateStreamAsync(new { name = "browser", outputs = new object[] { new { type = "hls", record = true }, new { type = "archive" } } });

    /// <summary>Types the key into the page and presses Start, once its camera preview is up.</summary>
    private static async Task StartAsync(BrowserPage page, string key)
    {
        await page.WaitForAsync("window.goLive?.media !== null && window.goLive?.media !== undefined", Step, "the camera preview");
        await page.EvaluateAsync($"document.getElementById('key').value = {JsonSerializer.Serialize(key)}; document.getElementById('form').requestSubmit(); true");
    }

    /// <summary>Waits for a page condition while sampling the session's FFmpeg pid.</summary>
    private async Task WaitSamplingAsync(BrowserPage page, string sessionId, HashSet<int> pids, string expression, string what)
    {
        await Eventually.ReturnsAsync(
            async () =>
            {
                var session = await cluster.GetJsonAsync($"/api/sessions/{sessionId}");
                if (session.GetProperty("ffmpeg").GetProperty("pid") is { ValueKind: JsonValueKind.Number } pid)
                {
                    pids.Add(pid.GetInt32());
                }

                return await page.EvaluateAsync($"Boolean({expression})");
            },
            v => v.ValueKind == JsonValueKind.True,
            Step,
            what);
    }

    private static double PlaylistSeconds(string playlist) =>
        ExtInf().Matches(playlist).Sum(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"#EXTINF:([0-9.]+)")]
    private static partial Regex ExtInf();
}

using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// Simulcast on real processes: two RTMP receivers (<c>ffmpeg -listen 1</c> on loopback) take one session's
/// stream; one is killed and started again while the other target and HLS go on.
/// </summary>
[Collection(ProcessCluster.Name)]
public sealed class SimulcastEndToEndTests(LiveStreamProcesses cluster) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("livestream-rtmp-").FullName;
    private readonly List<ManagedProcess> _receivers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var receiver in _receivers)
        {
            await receiver.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    [Fact(Timeout = 240_000)]
    public async Task Two_rtmp_targets_both_receive_and_one_that_goes_away_comes_back_without_disturbing_the_other_or_hls()
    {
        var (portA, portB) = (FreePort.Next(), FreePort.Next());
        var keyA = "live_" + Guid.NewGuid().ToString("N");
        var keyB = "live_" + Guid.NewGuid().ToString("N");
        cluster.Secrets.Add(keyA);
        cluster.Secrets.Add(keyB);
        var receiverA = StartReceiver("rtmp-a", portA, keyA, "a1.flv");
        StartReceiver("rtmp-b", portB, keyB, "b.flv");
        var stream = await cluster.CreateStreamAsync(new
        {
            outputs = new object[]
            {
                new { type = "hls", record = true },
                new { type = "rtmp", url = $"rtmp://127.0.0.1:{portA}/live/{keyA}" },
                new { type = "rtmp", url = $"rtmp://127.0.0.1:{portB}/live/{keyB}" },
            },
        });

        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);
        using var stopPublishing = new CancellationTokenSource();
        var publishing = PublishInRealTimeAsync(publisher, MediaCapture.Load("h264-opus-mkv"), stopPublishing.Token);
        var sessionId = publisher.SessionId;

        // Both targets receive, and status shows both live.
        await GrowsAsync("a1.flv", "target A to receive");
        await GrowsAsync("b.flv", "target B to receive");
        var live = await OutputsAsync(sessionId, o => o[1].State == "live" && o[2].State == "live", "both targets live");
        Assert.All(live.Skip(1), o => Assert.EndsWith("/live/[redacted]", o.Url, StringComparison.Ordinal));
        var relayB = live[2].Pid!.Value;
        var encoder = (await cluster.GetJsonAsync($"/api/sessions/{sessionId}")).GetProperty("ffmpeg").GetProperty("pid").GetInt32();

        // Receiver A goes away: its target retries with a redacted error; B and HLS go on, the encoder is untouched.
        var segments = Segments(sessionId);
        receiverA.Signal("KILL");
        await receiverA.WaitForExitAsync(Timeout);
        var retrying = await OutputsAsync(sessionId, o => o[1].State == "retrying", "target A to be retrying");
        Assert.NotNull(retrying[1].LastError);
        Assert.DoesNotContain(keyA, retrying[1].LastError!, StringComparison.Ordinal);
        Assert.True(retrying[1].Restarts >= 1);
        await GrowsAsync("b.flv", "target B to keep receiving", sessionId);
        await Eventually.HoldsAsync(() => Segments(sessionId) > segments + 1, Timeout, "HLS to keep growing");
        var during = await OutputsAsync(sessionId, o => o[2].State == "live", "target B still live");
        Assert.Equal(relayB, during[2].Pid);
        Assert.Equal(encoder, (await cluster.GetJsonAsync($"/api/sessions/{sessionId}")).GetProperty("ffmpeg").GetProperty("pid").GetInt32());

        // A receiver on the same port again: the target comes back.
        StartReceiver("rtmp-a2", portA, keyA, "a2.flv");
        await GrowsAsync("a2.flv", "target A to receive again", sessionId);
        var back = await OutputsAsync(sessionId, o => o[1].State == "live", "target A live again");
        Assert.Equal(relayB, back[2].Pid);
        var relays = back.Skip(1).Select(o => o.Pid!.Value).ToList();

        await stopPublishing.CancelAsync();
        await publishing;
        await publisher.EndAsync();
        await cluster.WaitForSessionStateAsync(sessionId, "ended");
        await Eventually.HoldsAsync(() => relays.All(pid => !ProcessProbe.IsRunning(pid)), Timeout, "no relay left after the session");
        foreach (var file in new[] { "a1.flv", "b.flv", "a2.flv" })
        {
            // What each receiver wrote is H.264 + AAC as the encoder made it once for every target.
            var probe = await ProbeResult.RunAsync(Path.Combine(_folder, file));
            Assert.Equal(["h264"], probe.VideoCodecs);
            Assert.Equal(["aac"], probe.AudioCodecs);
        }

        var all = string.Join('\n', cluster.AllOutput);
        Assert.DoesNotContain(keyA, all, StringComparison.Ordinal);
        Assert.DoesNotContain(keyB, all, StringComparison.Ordinal);
    }

    private ManagedProcess StartReceiver(string name, int port, string key, string file)
    {
        var receiver = ManagedProcess.Start(name, "ffmpeg", [
            "-hide_banner", "-nostdin", "-loglevel", "warning",
            "-listen", "1", "-i", $"rtmp://127.0.0.1:{port}/live/{key}",
            "-c", "copy", "-f", "flv", "-y", Path.Combine(_folder, file),
        ]);
        _receivers.Add(receiver);
        return receiver;
    }

    /// <summary>
    /// Waits until <paramref name="file"/> has grown by at least 100 KB from now (about a second of video). If it does
    /// not, the failure says what the session's outputs, the receivers and the relays said.
    /// </summary>
    private async Task GrowsAsync(string file, string what, string? sessionId = null)
    {
        var path = Path.Combine(_folder, file);
        var start = File.Exists(path) ? new FileInfo(path).Length : 0;
        try
        {
            await Eventually.HoldsAsync(() => File.Exists(path) && new FileInfo(path).Length > start + 100_000, Timeout, what);
        }
        catch (TimeoutException ex)
        {
            var outputs = sessionId is null ? "" : (await cluster.GetJsonAsync($"/api/sessions/{sessionId}")).GetProperty("outputs").GetRawText();
            var receivers = _receivers.Select(r => $"{r.Name} (exited: {r.HasExited}): {string.Join(" | ", r.Output.TakeLast(5))}");
            var relays = cluster.AllOutput.Where(l => l.Contains("Relay", StringComparison.Ordinal) || l.Contains("Target", StringComparison.Ordinal) || l.Contains("FFmpeg", StringComparison.Ordinal)).TakeLast(20);
            throw new TimeoutException($"{ex.Message}; {file} is {(File.Exists(path) ? new FileInfo(path).Length : 0)} bytes (was {start}); outputs: {outputs}\n{string.Join('\n', receivers)}\n{string.Join('\n', relays)}", ex);
        }
    }

    private int Segments(string sessionId)
    {
        var path = Path.Combine(cluster.DataPath, "hls", sessionId, "index.m3u8");
        return File.Exists(path) ? HlsPlaylist.Segments(File.ReadAllText(path)) : 0;
    }

    private async Task<IReadOnlyList<Output>> OutputsAsync(string sessionId, Func<IReadOnlyList<Output>, bool> done, string what) =>
        await Eventually.ReturnsAsync(
            async () =>
            {
                var session = await cluster.GetJsonAsync($"/api/sessions/{sessionId}");
                return session.TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Array
                    ? outputs.Deserialize<List<Output>>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!
                    : [];
            },
            o => o.Count == 3 && done(o),
            Timeout,
            what);

    /// <summary>Sends the capture at the pace it was recorded, again and again (each pass a recorder restart with the same tracks).</summary>
    private static async Task PublishInRealTimeAsync(V1Publisher publisher, MediaCapture capture, CancellationToken cancellationToken)
    {
        long offset = 0;
        var chunks = capture.Chunks().ToList();
        try
        {
            while (true)
            {
                var previous = 0.0;
                for (var i = 0; i < chunks.Count; i++)
                {
                    // Pacing, not synchronisation: a live recorder sends a chunk every half second.
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, capture.ChunkTimesMs[i] - previous)), cancellationToken);
                    previous = capture.ChunkTimesMs[i];
                    await publisher.SendAsync(offset, chunks[i]);
                    offset += chunks[i].Length;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed record Output(string Type, string? Url, string State, string? LastError, int Restarts, int? Pid);
}

using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>A live session's <c>health</c>: FFmpeg's progress and the committed ingest bitrate, on real processes.</summary>
[Collection(ProcessCluster.Name)]
public sealed class SessionHealthEndToEndTests(LiveStreamProcesses cluster)
{
    [Fact(Timeout = 180_000)]
    public async Task A_live_session_reports_the_frame_rate_and_bitrate_of_the_capture_it_receives()
    {
        var capture = MediaCapture.Load("h264-opus-mkv");
        var frameRate = capture.FrameRate!.Value;
        var bitrate = capture.BitsPerSecond;
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls" } } });
        var samples = new List<JsonElement>();
        string sessionId;

        await using (var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            sessionId = publisher.SessionId;
            await publisher.PublishAtPaceAsync(capture, [10_000, 15_000, 19_000], async _ =>
                samples.Add(await cluster.GetJsonAsync($"/api/sessions/{sessionId}")));
            await publisher.WaitForAckAsync(capture.Bytes.Length, TimeSpan.FromSeconds(60));
            await publisher.EndAsync();
        }

        // The median of the three samples: on a busy 2-core machine one window may hold a catch-up burst after a stall.
        var healths = samples.Select(session => session.GetProperty("health")).ToList();
        var medianFps = healths.Select(h => h.GetProperty("fps").GetDouble()).Order().ElementAt(1);
        var medianBits = healths.Select(h => h.GetProperty("ingestBitsPerSecond").GetInt64()).Order().ElementAt(1);
        Assert.True(Math.Abs(medianFps - frameRate) <= frameRate * 0.2, $"median fps {medianFps} is within 20% of the capture's {frameRate}: {string.Join(", ", healths)}");
        Assert.True(Math.Abs(medianBits - bitrate) <= bitrate * 0.2, $"median ingest {medianBits} bit/s is within 20% of the capture's {bitrate:0} bit/s: {string.Join(", ", healths)}");
        foreach (var health in healths)
        {
            Assert.True(health.GetProperty("speed").GetDouble() is > 0.5 and < 1.5, $"speed is about real time: {health}");
            Assert.True(health.GetProperty("outputSeconds").GetDouble() > 5, $"FFmpeg has written several seconds: {health}");
            Assert.Equal(0, health.GetProperty("droppedFrames").GetInt64());
            Assert.Equal(JsonValueKind.Array, health.GetProperty("stderrTail").ValueKind);
        }

        var ended = await cluster.WaitForSessionStateAsync(sessionId, "ended");
        Assert.Equal(JsonValueKind.Null, ended.GetProperty("health").ValueKind);
    }
}

using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>A live session's <c>health</c>: FFmpeg's progress and the committed ingest bitrate, on real processes.</summary>
[Collection(ProcessCluster.Name)]
public sealed class SessionHealthEndToEndTests(LiveStreamProcesses cluster)
{
    /// <summary>
    /// How far back the silo measures the frame rate and speed (over FFmpeg's progress reports, which come every
    /// <c>-stats_period</c>) and the ingest bitrate (over the commits): <c>FfmpegProgress.Window</c> and
    /// <c>IngestRate.Window</c>.
    /// </summary>
    private static readonly TimeSpan MeasuringWindow = TimeSpan.FromSeconds(5);

    /// <summary>How often FFmpeg reports its progress: <c>-stats_period</c>, <c>FfmpegProgress.ReportPeriod</c>.</summary>
    private static readonly TimeSpan ReportPeriod = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How far FFmpeg's output may trail the media sent and still be keeping pace: a 500 ms chunk, the router holding
    /// an element still arriving, the demuxer's read-ahead (2 s in all), and the age of the last report, which is up
    /// to a report period old when it is read.
    /// </summary>
    private static readonly TimeSpan PaceLag = TimeSpan.FromSeconds(2) + ReportPeriod;

    private static readonly TimeSpan SamplePeriod = TimeSpan.FromMilliseconds(500);

    [Fact(Timeout = 180_000)]
    public async Task A_live_session_reports_the_frame_rate_and_bitrate_of_the_capture_it_receives()
    {
        var capture = MediaCapture.Load("h264-opus-mkv");
        var frameRate = capture.FrameRate!.Value;
        var bitrate = capture.BitsPerSecond;
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls" } } });
        var samples = new List<JsonElement>();
        var seen = new List<JsonElement>();
        string sessionId;

        await using (var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            sessionId = publisher.SessionId;

            // The publisher keeps the recorder's pace on its own: a status read that is slow on a busy machine must
            // not hold chunks back and then let them go in a burst, which is not the capture's rate.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var publishing = publisher.PublishAtPaceAsync(capture);
            TimeSpan? atPaceSince = null;
            while (!publishing.IsCompleted)
            {
                // Read before the call: a status answer that is slow to arrive does not make FFmpeg look behind.
                var now = clock.Elapsed;
                var health = (await cluster.GetJsonAsync($"/api/sessions/{sessionId}")).GetProperty("health");
                seen.Add(health);

                // The figures are the capture's only while FFmpeg keeps pace, measured over a whole window of that: an
                // FFmpeg that started late on a busy machine really does run faster than real time while it catches
                // up, and says so. FFmpeg reports as often as its stats period says; the samples are read for as long
                // as the capture plays (20 s), and judged together.
                var output = health.GetProperty("outputSeconds");
                var keepsPace = output.ValueKind == JsonValueKind.Number && now - TimeSpan.FromSeconds(output.GetDouble()) <= PaceLag;
                atPaceSince = keepsPace ? atPaceSince ?? now : null;
                if (now - atPaceSince >= MeasuringWindow
                    && health.GetProperty("fps").ValueKind == JsonValueKind.Number
                    && health.GetProperty("ingestBitsPerSecond").ValueKind == JsonValueKind.Number)
                {
                    samples.Add(health);
                }

                await Task.WhenAny(publishing, Task.Delay(SamplePeriod));
            }

            await publishing;
            await publisher.WaitForAckAsync(capture.Bytes.Length, TimeSpan.FromSeconds(60));
            await publisher.EndAsync();
        }

        // Medians: on a busy 2-core machine a window may hold a stall of FFmpeg or the catch-up burst after it.
        Assert.True(samples.Count >= 3, $"{samples.Count} samples measured over a whole window of FFmpeg keeping pace: {string.Join(", ", seen)}");
        var all = string.Join(", ", samples);
        var medianFps = Median(samples.Select(h => h.GetProperty("fps").GetDouble()));
        var medianBits = Median(samples.Select(h => (double)h.GetProperty("ingestBitsPerSecond").GetInt64()));
        var medianSpeed = Median(samples.Select(h => h.GetProperty("speed").GetDouble()));
        Assert.True(Math.Abs(medianFps - frameRate) <= frameRate * 0.2, $"median fps {medianFps} is within 20% of the capture's {frameRate}: {all}");
        Assert.True(Math.Abs(medianBits - bitrate) <= bitrate * 0.2, $"median ingest {medianBits} bit/s is within 20% of the capture's {bitrate:0} bit/s: {all}");
        Assert.True(medianSpeed is > 0.5 and < 1.5, $"median speed {medianSpeed} is about real time: {all}");
        foreach (var health in samples)
        {
            Assert.Equal(0, health.GetProperty("droppedFrames").GetInt64());
            Assert.Equal(JsonValueKind.Array, health.GetProperty("stderrTail").ValueKind);
        }

        var ended = await cluster.WaitForSessionStateAsync(sessionId, "ended");
        Assert.Equal(JsonValueKind.Null, ended.GetProperty("health").ValueKind);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

using System.Diagnostics;
using System.Security.Cryptography;
using LiveStream.Testing;
using Xunit.Abstractions;

namespace LiveStream.EndToEnd.Tests;

[Collection(ProcessCluster.Name)]
public sealed class BackPressureAndTimingTests(LiveStreamProcesses cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 120_000)]
    public async Task With_ffmpeg_stopped_the_buffer_stays_bounded_the_sender_stalls_and_control_calls_still_answer()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls", record = true } } });
        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);

        // Real media, far more of it than any buffer holds: the capture's header, then its clusters over and over.
        var capture = MediaCapture.Load("vp8-opus").Bytes;
        var firstCluster = capture.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x1F, 0x43, 0xB6, 0x75]);
        await publisher.SendAsync(0, capture.AsMemory(0, firstCluster));
        await publisher.WaitForAckAsync(firstCluster, Wait);
        var session = await Eventually.ReturnsAsync(
            () => cluster.GetJsonAsync($"/api/sessions/{publisher.SessionId}"),
            s => s.GetProperty("ffmpeg").GetProperty("pid").ValueKind == System.Text.Json.JsonValueKind.Number,
            Wait,
            "FFmpeg to start");
        var pid = session.GetProperty("ffmpeg").GetProperty("pid").GetInt32();
        var clusters = capture.AsMemory(firstCluster);
        Signal(pid, "STOP");
        try
        {
            // Keep sending far more than the buffer holds; the sends must stall instead of memory growing.
            long sent = firstCluster;
            var sender = Task.Run(async () =>
            {
                while (sent < 64L * 1024 * 1024)
                {
                    for (var at = 0; at < clusters.Length; at += 64 * 1024)
                    {
                        var piece = clusters[at..Math.Min(clusters.Length, at + (64 * 1024))];
                        await publisher.SendAsync(Interlocked.Read(ref sent), piece);
                        Interlocked.Add(ref sent, piece.Length);
                    }
                }
            });
            await Eventually.HoldsAsync(
                () => publisher.Acked > firstCluster,
                Wait,
                "the first acks");
            var stalledAt = await Eventually.ReturnsAsync(
                async () =>
                {
                    var before = Interlocked.Read(ref sent);
                    await Task.Delay(1000);
                    return (Before: before, After: Interlocked.Read(ref sent));
                },
                r => r.Before == r.After,
                Wait,
                "the sender to stall");
            Assert.False(sender.IsCompleted);
            Assert.True(stalledAt.After < 64L * 1024 * 1024);

            var status = await cluster.GetJsonAsync($"/api/sessions/{publisher.SessionId}");
            Assert.InRange(status.GetProperty("bufferedBytes").GetInt64(), 1, LiveStreamProcesses.SessionBufferBytes);
            Assert.Equal("active", status.GetProperty("state").GetString());

            // Takeover answers while FFmpeg is stalled: the old socket gets 4409, the new one its hello.
            await using var newer = await V1Publisher.ConnectAsync(stream.IngestUrlOn(cluster.Gateway2Url));
            var close = await publisher.ServerClose.WaitAsync(Wait);
            Assert.Equal(4409, (int)close!.CloseStatus!.Value);
            Assert.Equal(publisher.SessionId, newer.SessionId);
            Assert.InRange((await cluster.GetJsonAsync($"/api/sessions/{publisher.SessionId}")).GetProperty("bufferedBytes").GetInt64(), 0, LiveStreamProcesses.SessionBufferBytes);

            // End answers too, although FFmpeg is still stopped: the graceful stop goes on outside the grain turn.
            await newer.EndAsync();
            var ended = await newer.ServerClose.WaitAsync(Wait);
            Assert.Equal(1000, (int)ended!.CloseStatus!.Value);
            await cluster.WaitForSessionStateAsync(publisher.SessionId, "ended");

            // Once it runs again, the background stop finishes it off: nothing is left behind.
            Signal(pid, "CONT");
            await Eventually.HoldsAsync(() => !ProcessProbe.IsRunning(pid), TimeSpan.FromSeconds(60), "ffmpeg to exit");
        }
        finally
        {
            Signal(pid, "CONT");
        }
    }

    [Fact(Timeout = 180_000)]
    [Trait("Category", "Timing")]
    public async Task Reconnect_to_first_accepted_byte_is_measured_over_100_reconnects()
    {
        var stream = await cluster.CreateStreamAsync(new { reconnectWindowSeconds = 60, outputs = new object[] { new { type = "null" } } });
        var chunk = new byte[16 * 1024];
        var samples = new List<double>();
        long offset = 0;
        await using (var first = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            await first.SendAsync(0, chunk);
            await first.WaitForAckAsync(chunk.Length, Wait);
            offset = chunk.Length;
            first.Abort();
        }

        var gateways = new[] { cluster.GatewayUrl, cluster.Gateway2Url };
        for (var i = 0; i < 100; i++)
        {
            await cluster.WaitForSessionStateAsync((await cluster.GetJsonAsync($"/api/streams/{stream.Id}")).GetProperty("currentSessionId").GetString()!, "disconnected");
            var started = Stopwatch.GetTimestamp();
            await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrlOn(gateways[i % 2]));
            Assert.Equal(offset, publisher.ResumeFrom);
            await publisher.SendAsync(offset, chunk);
            await publisher.WaitForAckAsync(offset + chunk.Length, Wait);
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            offset += chunk.Length;
            publisher.Abort();
        }

        samples.Sort();
        double Percentile(double p) => samples[(int)Math.Ceiling(p * samples.Count) - 1];
        output.WriteLine($"reconnect-to-first-accepted-byte over {samples.Count} reconnects: p50 {Percentile(0.50):0.0} ms, p99 {Percentile(0.99):0.0} ms, max {samples[^1]:0.0} ms");
        Console.WriteLine($"TIMING reconnect-to-first-accepted-byte n={samples.Count} p50={Percentile(0.50):0.0}ms p99={Percentile(0.99):0.0}ms max={samples[^1]:0.0}ms");
        var final = await cluster.GetJsonAsync($"/api/streams/{stream.Id}/sessions");
        Assert.Equal(100, final[0].GetProperty("reconnects").GetInt32());
        Assert.Equal(offset, final[0].GetProperty("bytesIngested").GetInt64());
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}

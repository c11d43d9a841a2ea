using System.Diagnostics;
using System.Text.Json;
using LiveStream.Testing;
using Xunit.Abstractions;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// Every metric the Grafana dashboard (<c>deploy/monitoring/grafana/dashboards/livestream.json</c>) queries is served
/// by the running processes' <c>/metrics</c>, once a session has done what the dashboard counts.
/// </summary>
[Collection(ProcessCluster.Name)]
public sealed class DashboardMetricsEndToEndTests(LiveStreamProcesses cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 240_000)]
    public async Task Every_metric_the_dashboard_queries_is_served_after_a_session_with_a_restart_a_reconnect_and_a_takeover()
    {
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "monitoring", "grafana", "dashboards", "livestream.json"))).RootElement;
        var wanted = PromQl.DashboardExpressions(dashboard).SelectMany(PromQl.MetricNames).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("livestream_ingest_bytes_total", wanted);

        await DashboardSession.RunAsync(cluster);

        // The exporter caches a scrape for a moment: poll until every name shows, then report what is still missing.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var missing = wanted;
        var deadline = Stopwatch.StartNew();
        do
        {
            var served = new HashSet<string>(StringComparer.Ordinal);
            foreach (var process in new[] { cluster.SiloUrl, cluster.GatewayMetricsUrl })
            {
                served.UnionWith(PromQl.ScrapedNames(await http.GetStringAsync(new Uri(process, "/metrics"))));
            }

            missing = [.. wanted.Where(n => !served.Contains(n)).Order(StringComparer.Ordinal)];
            if (missing.Count == 0)
            {
                break;
            }

            await Task.Delay(500);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(20));

        output.WriteLine($"dashboard queries {wanted.Count} metrics: {string.Join(", ", wanted.Order(StringComparer.Ordinal))}");
        Assert.True(missing.Count == 0, $"the dashboard queries metrics no process serves: {string.Join(", ", missing)}");
    }
}

/// <summary>What the dashboard tests make the processes count.</summary>
internal static class DashboardSession
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(60);

    /// <summary>
    /// One session that does everything the dashboard counts: ingest with HLS (FFmpeg), FFmpeg killed and restarted,
    /// the publisher lost (disconnected, then a reconnect), a second publisher taking over, an end.
    /// </summary>
    public static async Task RunAsync(LiveStreamProcesses cluster)
    {
        var capture = MediaCapture.Load("h264-opus-mkv");
        var half = capture.Bytes.Length / 2;
        var stream = await cluster.CreateStreamAsync(new { name = "dashboard", outputs = new object[] { new { type = "hls" } }, reconnectWindowSeconds = 60 });

        var first = await V1Publisher.ConnectAsync(stream.IngestUrl);
        var sessionId = first.SessionId;
        await first.SendRangeAsync(capture.Bytes, 0, half, 32 * 1024);
        await first.WaitForAckAsync(half, Step);

        var pid = await Eventually.ReturnsAsync(
            () => cluster.GetJsonAsync($"/api/sessions/{sessionId}"),
            s => s.GetProperty("ffmpeg").GetProperty("pid").ValueKind == JsonValueKind.Number,
            Step,
            "the session's FFmpeg");
        using (var ffmpeg = Process.GetProcessById(pid.GetProperty("ffmpeg").GetProperty("pid").GetInt32()))
        {
            ffmpeg.Kill();
        }

        await Eventually.ReturnsAsync(
            () => cluster.GetJsonAsync($"/api/sessions/{sessionId}"),
            s => s.GetProperty("ffmpeg").GetProperty("restarts").GetInt32() >= 1,
            Step,
            "FFmpeg to be restarted");

        first.Abort();
        await first.DisposeAsync();
        await cluster.WaitForSessionStateAsync(sessionId, "disconnected");

        await using var second = await V1Publisher.ConnectAsync(stream.IngestUrl);
        await using var third = await V1Publisher.ConnectAsync(stream.IngestUrl);
        Assert.Equal((sessionId, sessionId), (second.SessionId, third.SessionId));
        await third.SendRangeAsync(capture.Bytes, third.ResumeFrom, capture.Bytes.Length, 32 * 1024);
        await third.WaitForAckAsync(capture.Bytes.Length, Step);
        await third.EndAsync();

        var ended = await cluster.WaitForSessionStateAsync(sessionId, "ended", "failed");
        Assert.Equal((1, 1), (ended.GetProperty("reconnects").GetInt32(), ended.GetProperty("supersededPublishers").GetInt32()));
    }
}

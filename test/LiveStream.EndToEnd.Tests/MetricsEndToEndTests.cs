using System.Globalization;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>Every process serves Prometheus' text format at <c>/metrics</c>: the LiveStream meter beside Orleans' own.</summary>
[Collection(ProcessCluster.Name)]
public sealed class MetricsEndToEndTests(LiveStreamProcesses cluster)
{
    [Fact(Timeout = 120_000)]
    public async Task Silo_and_gateway_serve_metrics_and_the_silo_counts_committed_bytes()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var before = Sum(await http.GetStringAsync(new Uri(cluster.SiloUrl, "/metrics")), "livestream_ingest_bytes_total");
        var capture = MediaCapture.Load("audio-only-opus");
        var stream = await cluster.CreateStreamAsync();
        await using (var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            await publisher.SendRangeAsync(capture.Bytes, 0, capture.Bytes.Length, 16 * 1024);
            await publisher.WaitForAckAsync(capture.Bytes.Length, TimeSpan.FromSeconds(60));
            await publisher.EndAsync();
            await cluster.WaitForSessionStateAsync(publisher.SessionId, "ended");
        }

        // The exporter caches a scrape for a moment: poll until the bytes show.
        var silo = await Eventually.ReturnsAsync(
            () => http.GetStringAsync(new Uri(cluster.SiloUrl, "/metrics")),
            text => Sum(text, "livestream_ingest_bytes_total") >= before + capture.Bytes.Length,
            TimeSpan.FromSeconds(30),
            "the silo's ingest byte counter to grow by the capture");
        Assert.Contains("livestream_ingest_chunks", silo, StringComparison.Ordinal);
        Assert.Contains("\norleans_", silo, StringComparison.Ordinal);
        Assert.DoesNotContain(stream.Key, silo, StringComparison.Ordinal);

        // The public port serves no metrics; the gateway's metrics listener serves nothing else.
        using (var onPublicPort = await http.GetAsync(new Uri(cluster.GatewayUrl, "/metrics")))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, onPublicPort.StatusCode);
        }

        using (var apiOnMetricsPort = await http.GetAsync(new Uri(cluster.GatewayMetricsUrl, "/api/streams")))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, apiOnMetricsPort.StatusCode);
        }

        using var gateway = await http.GetAsync(new Uri(cluster.GatewayMetricsUrl, "/metrics"));
        Assert.True(gateway.IsSuccessStatusCode);
        Assert.StartsWith("text/plain", gateway.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var gatewayText = await gateway.Content.ReadAsStringAsync();
        Assert.Contains("livestream_ingest_connections", gatewayText, StringComparison.Ordinal);
        Assert.DoesNotContain(stream.Key, gatewayText, StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task During_a_live_session_published_at_its_pace_the_gateway_and_silo_metrics_move()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var capture = MediaCapture.Load("h264-opus-mkv");
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls" } } });
        // Sessions of other tests end before theirs do; none is starting or ending now.
        var activeBefore = Sum(await ScrapeAsync(http, cluster.SiloUrl), "livestream_sessions_active");
        var scrapes = new List<(string Silo, string Gateway)>();

        await using (var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            // Two scrapes while live, 6 s apart, with the capture sent as the browser recorded it.
            await publisher.PublishAtPaceAsync(capture, [8_000, 14_000], async _ =>
                scrapes.Add((await ScrapeAsync(http, cluster.SiloUrl), await ScrapeAsync(http, cluster.GatewayMetricsUrl))));
            await publisher.WaitForAckAsync(capture.Bytes.Length, TimeSpan.FromSeconds(60));
            await publisher.EndAsync();
        }

        var (silo1, gateway1) = scrapes[0];
        var (silo2, gateway2) = scrapes[1];

        // The silo: one more session active while live, committed bytes and chunks growing, its FFmpeg counted and
        // sampled, Orleans' own meter beside ours.
        Assert.Equal(activeBefore + 1, Sum(silo1, "livestream_sessions_active"));
        Assert.Equal(activeBefore + 1, Sum(silo2, "livestream_sessions_active"));
        Assert.Contains("\nlivestream_sessions_disconnected", silo1, StringComparison.Ordinal);
        Assert.True(Sum(silo2, "livestream_ingest_bytes_total") > Sum(silo1, "livestream_ingest_bytes_total"), "the ingest byte counter grows while live");
        Assert.True(Sum(silo2, "livestream_ingest_chunks_total") > Sum(silo1, "livestream_ingest_chunks_total"), "the chunk counter grows while live");
        Assert.True(Sum(silo1, "livestream_ffmpeg_processes", "role=\"encoder\"") >= 1, "the session's FFmpeg is counted");
        Assert.True(Sum(silo2, "livestream_session_buffered_bytes_count") > Sum(silo1, "livestream_session_buffered_bytes_count"), "live sessions sample their buffer every tick");
        Assert.True(Sum(silo2, "livestream_session_fps_count") > 0, "FFmpeg's frame rate is sampled");
        Assert.True(Sum(silo2, "livestream_session_ingest_bitrate_count") > 0, "the ingest bitrate is sampled");
        Assert.Contains("\norleans_", silo1, StringComparison.Ordinal);

        // The gateway: the chunk latency histogram fills as chunks are committed; Orleans' client meter beside it.
        var latency1 = Sum(gateway1, "livestream_chunk_latency_seconds_count");
        Assert.True(latency1 > 0, "chunk latencies are recorded on the gateway");
        Assert.True(Sum(gateway2, "livestream_chunk_latency_seconds_count") > latency1, "the chunk latency count grows while live");
        Assert.Contains(gateway2.Split('\n'), l => l.StartsWith("livestream_chunk_latency_seconds_bucket", StringComparison.Ordinal) && l.Contains("le=\"0.005\"", StringComparison.Ordinal));
        Assert.Contains("\norleans_", gateway1, StringComparison.Ordinal);

        foreach (var text in new[] { silo1, silo2, gateway1, gateway2 })
        {
            Assert.DoesNotContain(stream.Key, text, StringComparison.Ordinal);
        }

        // Ended: the session leaves the gauge.
        await Eventually.ReturnsAsync(
            () => ScrapeAsync(http, cluster.SiloUrl),
            text => Sum(text, "livestream_sessions_active") == activeBefore,
            TimeSpan.FromSeconds(60),
            "the ended session to leave livestream_sessions_active");
    }

    private static Task<string> ScrapeAsync(HttpClient http, Uri process) => http.GetStringAsync(new Uri(process, "/metrics"));

    /// <summary>The sum of the samples of metric <paramref name="name"/> (with <paramref name="label"/> among their labels), 0 when absent.</summary>
    private static double Sum(string text, string name, string? label = null) =>
        text.Split('\n')
            .Where(l => l.StartsWith(name, StringComparison.Ordinal) && l.Length > name.Length && l[name.Length] is ' ' or '{')
            .Where(l => label is null || l.Contains(label, StringComparison.Ordinal))
            .Sum(SampleValue);

    /// <summary>A sample line is <c>name{labels} value [timestamp]</c>.</summary>
    private static double SampleValue(string line)
    {
        var afterLabels = line[(Math.Max(line.LastIndexOf('}'), line.IndexOf(' ')) + 1)..].Trim();
        return double.Parse(afterLabels.Split(' ')[0], CultureInfo.InvariantCulture);
    }
}

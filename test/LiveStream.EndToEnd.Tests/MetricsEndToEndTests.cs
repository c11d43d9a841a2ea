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
        var before = IngestBytes(await http.GetStringAsync(new Uri(cluster.SiloUrl, "/metrics")));
        var capture = MediaCapture.Load("audio-only-opus");
        var stream = await cluster.CreateStreamAsync();
        await using (var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl))
        {
            await publisher.SendRangeAsync(capture.Bytes, 0, capture.Bytes.Length, 16 * 1024);
            await publisher.WaitForAckAsync(capture.Bytes.Length, TimeSpan.FromSeconds(60));
            await publisher.EndAsync();
        }

        // The exporter caches a scrape for a moment: poll until the bytes show.
        var silo = await Eventually.ReturnsAsync(
            () => http.GetStringAsync(new Uri(cluster.SiloUrl, "/metrics")),
            text => IngestBytes(text) >= before + capture.Bytes.Length,
            TimeSpan.FromSeconds(30),
            "the silo's ingest byte counter to grow by the capture");
        Assert.Contains("livestream_ingest_chunks", silo, StringComparison.Ordinal);
        Assert.Contains("\norleans_", silo, StringComparison.Ordinal);
        Assert.DoesNotContain(stream.Key, silo, StringComparison.Ordinal);

        using var gateway = await http.GetAsync(new Uri(cluster.GatewayUrl, "/metrics"));
        Assert.True(gateway.IsSuccessStatusCode);
        Assert.StartsWith("text/plain", gateway.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var gatewayText = await gateway.Content.ReadAsStringAsync();
        Assert.Contains("livestream_ingest_connections", gatewayText, StringComparison.Ordinal);
        Assert.DoesNotContain(stream.Key, gatewayText, StringComparison.Ordinal);
    }

    /// <summary>The sum of every <c>livestream_ingest_bytes*</c> sample (0 before the first commit).</summary>
    private static double IngestBytes(string text) =>
        text.Split('\n')
            .Where(l => l.StartsWith("livestream_ingest_bytes", StringComparison.Ordinal))
            .Sum(SampleValue);

    /// <summary>A sample line is <c>name{labels} value [timestamp]</c>.</summary>
    private static double SampleValue(string line)
    {
        var afterLabels = line[(Math.Max(line.LastIndexOf('}'), line.IndexOf(' ')) + 1)..].Trim();
        return double.Parse(afterLabels.Split(' ')[0], CultureInfo.InvariantCulture);
    }
}

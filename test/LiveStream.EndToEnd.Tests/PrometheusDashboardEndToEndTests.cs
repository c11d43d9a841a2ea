using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveStream.Testing;
using Xunit.Abstractions;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// The monitoring stack run for real: Debian's Prometheus scrapes the running silo and gateway while a stream is live
/// and evaluates every query of the Grafana dashboard through its HTTP API. Each must return data, and none may count
/// a series twice: Prometheus also scrapes both processes a second time under the job <c>otel-collector</c>, as the
/// collector re-exports the same series in <c>deploy/compose.yaml</c>, so a selector without its job would sum both.
/// </summary>
[Collection(ProcessCluster.Name)]
public sealed class PrometheusDashboardEndToEndTests(LiveStreamProcesses cluster, ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 300_000)]
    public async Task Prometheus_evaluates_every_dashboard_query_to_data_with_no_series_counted_twice_while_a_stream_is_live()
    {
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "monitoring", "grafana", "dashboards", "livestream.json"))).RootElement;

        // Grafana's $__rate_interval: at least four scrape intervals; a minute covers the session below.
        var queries = PromQl.DashboardExpressions(dashboard).Distinct().Select(e => e.Replace("$__rate_interval", "1m", StringComparison.Ordinal)).ToList();
        Assert.True(queries.Count >= 15, $"{queries.Count} dashboard queries");

        await using var prometheus = await StartPrometheusAsync();
        using var http = new HttpClient { BaseAddress = prometheus.Url, Timeout = TimeSpan.FromSeconds(30) };

        // What the dashboard counts happens (FFmpeg restart, reconnect, takeover), then a stream stays live meanwhile.
        await DashboardSession.RunAsync(cluster);
        var capture = MediaCapture.Load("h264-opus-mkv");
        var stream = await cluster.CreateStreamAsync(new { name = "prometheus", outputs = new object[] { new { type = "hls" } } });
        await using var publisher = await V1Publisher.ConnectAsync(stream.IngestUrl);
        await publisher.SendRangeAsync(capture.Bytes, 0, capture.Bytes.Length / 2, 32 * 1024);
        await publisher.WaitForAckAsync(capture.Bytes.Length / 2, Step);

        var results = new Dictionary<string, JsonElement>();
        foreach (var query in queries)
        {
            // Rates need two scrapes of the new values: poll until the query has data.
            results[query] = await Eventually.ReturnsAsync(() => QueryAsync(http, query), r => r.GetArrayLength() > 0, Step, $"data for {query}");
            output.WriteLine($"{query} => {Describe(results[query])}");

            // No selector matches the same process's series under two jobs.
            foreach (var selector in PromQl.MetricNames(query).SelectMany(name => Regex.Matches(query, $@"\b{Regex.Escape(name)}\b(\{{[^}}]*\}})?")))
            {
                var jobs = await QueryAsync(http, $"count by (job) ({selector.Value})");
                Assert.True(jobs.GetArrayLength() == 1, $"{selector.Value} in {query} selects series of {jobs.GetArrayLength()} jobs: {Describe(jobs)}");
            }
        }

        // While the stream is live, the dashboard's "Live sessions" counts it.
        var live = results.Single(r => r.Key.StartsWith("sum(livestream_sessions_active", StringComparison.Ordinal) && r.Key.Contains('+', StringComparison.Ordinal)).Value;
        Assert.True(Value(live[0]) >= 1, $"Live sessions: {Describe(live)}");

        // The per-silo panels show one series per silo, not one per scrape job.
        var perSilo = results.Single(r => r.Key.StartsWith("sum by (instance) (livestream_sessions_active", StringComparison.Ordinal)).Value;
        Assert.Equal(1, perSilo.GetArrayLength());
        await publisher.EndAsync();
    }

    private async Task<RunningPrometheus> StartPrometheusAsync()
    {
        var folder = Directory.CreateTempSubdirectory("livestream-prometheus-").FullName;
        var port = FreePort.Next();
        var silo = $"{cluster.SiloUrl.Host}:{cluster.SiloUrl.Port}";
        var gateway = $"{cluster.GatewayMetricsUrl.Host}:{cluster.GatewayMetricsUrl.Port}";
        await File.WriteAllTextAsync(Path.Combine(folder, "prometheus.yaml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: livestream-silo
                static_configs: [{"{"} targets: ["{silo}"] {"}"}]
              - job_name: livestream-gateway
                static_configs: [{"{"} targets: ["{gateway}"] {"}"}]
              - job_name: otel-collector
                static_configs: [{"{"} targets: ["{silo}", "{gateway}"] {"}"}]
            """);
        var process = ManagedProcess.Start("prometheus", "prometheus",
        [
            $"--config.file={Path.Combine(folder, "prometheus.yaml")}",
            $"--storage.tsdb.path={Path.Combine(folder, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
        ]);
        var running = new RunningPrometheus(process, new Uri($"http://127.0.0.1:{port}"), folder);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.ReturnsAsync(
            async () =>
            {
                Assert.False(process.HasExited, $"prometheus exited:\n{process.Tail()}");
                try
                {
                    using var ready = await http.GetAsync(new Uri(running.Url, "/-/ready"));
                    return ready.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            ok => ok,
            Step,
            "Prometheus to be ready");
        return running;
    }

    /// <summary>The result vector of an instant query; a query Prometheus refuses fails the test.</summary>
    private static async Task<JsonElement> QueryAsync(HttpClient http, string query)
    {
        using var response = await http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(query));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(json.GetProperty("status").GetString() == "success", $"{query}: {json}");
        return json.GetProperty("data").GetProperty("result").Clone();
    }

    private static double Value(JsonElement sample) =>
        double.Parse(sample.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);

    private static string Describe(JsonElement vector) =>
        string.Join("; ", vector.EnumerateArray().Select(s => $"{s.GetProperty("metric")} {s.GetProperty("value")[1]}"));

    private sealed record RunningPrometheus(ManagedProcess Process, Uri Url, string Folder) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Process.DisposeAsync();
            Directory.Delete(Folder, recursive: true);
        }
    }
}

using System.Text.Json;
using System.Text.RegularExpressions;
using LiveStream.Gateway.Tests.Deploy;
using LiveStream.Hosting;
using LiveStream.Testing;
using YamlDotNet.RepresentationModel;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// The monitoring stack of <c>deploy/compose.yaml</c> checked without Docker: the collector, Prometheus and Grafana
/// files parse, point at each other and at every LiveStream process, and the dashboard asks what it should.
/// (That every metric the dashboard queries exists is checked against running processes in the end-to-end suite.)
/// </summary>
public sealed partial class MonitoringFilesTests
{
    private static readonly string DeployFolder = Path.Combine(RepoPaths.Root, "deploy");
    private static readonly string MonitoringFolder = Path.Combine(DeployFolder, "monitoring");
    private static readonly YamlNode Compose = YamlNodes.LoadDocuments(Path.Combine(DeployFolder, "compose.yaml")).Single();
    private static readonly YamlNode Services = Compose.Get("services");
    private static readonly YamlNode Collector = YamlNodes.LoadDocuments(Path.Combine(MonitoringFolder, "otel-collector.yaml")).Single();
    private static readonly YamlNode Prometheus = YamlNodes.LoadDocuments(Path.Combine(MonitoringFolder, "prometheus.yaml")).Single();
    private static readonly JsonElement Dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(MonitoringFolder, "grafana", "dashboards", "livestream.json"))).RootElement;

    [Fact]
    public void The_collector_receives_otlp_and_every_pipeline_uses_only_components_it_defines()
    {
        var pipelines = Collector.Get("service").Get("pipelines");
        var otlp = Collector.Get("receivers").Get("otlp").Get("protocols");

        Assert.Equal("0.0.0.0:4317", otlp.Get("grpc").Text("endpoint"));
        Assert.Equal("0.0.0.0:4318", otlp.Get("http").Text("endpoint"));
        Assert.Equal(["otlp"], pipelines.Get("metrics").Get("receivers").Items().Select(i => i.Text()));
        Assert.Equal(["prometheus"], pipelines.Get("metrics").Get("exporters").Items().Select(i => i.Text()));
        Assert.Contains("debug", pipelines.Get("traces").Get("exporters").Items().Select(i => i.Text()));

        // The processes export logs over OTLP too (UseOtlpExporter): without a logs pipeline the collector refuses them.
        Assert.Equal(["otlp"], pipelines.Get("logs").Get("receivers").Items().Select(i => i.Text()));
        Assert.NotEmpty(pipelines.Get("logs").Get("exporters").Items());
        Assert.All(pipelines.Entries(), pipeline =>
        {
            foreach (var kind in new[] { "receivers", "processors", "exporters" })
            {
                Assert.All(pipeline.Value.Find(kind)?.Items() ?? [], component => Assert.NotNull(Collector.Get(kind).Find(component.Text())));
            }
        });
    }

    [Fact]
    public void Every_process_in_compose_exports_otlp_to_the_collector_under_its_own_service_name()
    {
        var processes = LiveStreamServices().ToList();

        Assert.Equal(4, processes.Count);
        Assert.All(processes, p =>
        {
            var environment = p.Node.Get("environment");
            Assert.Equal("http://otel-collector:4317", environment.Text("OTEL_EXPORTER_OTLP_ENDPOINT"));
            Assert.Equal($"livestream-{p.Name}", environment.Text("OTEL_SERVICE_NAME"));
        });
        Assert.Equal("/etc/otelcol/config.yaml", MountTarget(Services.Get("otel-collector"), "./monitoring/otel-collector.yaml"));
        Assert.Contains("--config=/etc/otelcol/config.yaml", Services.Get("otel-collector").Get("command").Items().Select(c => c.Text()));
    }

    [Fact]
    public void Prometheus_scrapes_the_metrics_path_of_every_silo_and_gateway_and_the_collector()
    {
        var jobs = Prometheus.Get("scrape_configs").Items().ToDictionary(j => j.Text("job_name"), j => j);
        var collectorPort = Collector.Get("exporters").Get("prometheus").Text("endpoint").Split(':')[1];

        Assert.Equal(Expected("Dockerfile.silo"), Targets(jobs["livestream-silo"]));
        Assert.Equal(Expected("Dockerfile.gateway"), Targets(jobs["livestream-gateway"]));
        Assert.All(new[] { "livestream-silo", "livestream-gateway" }, j => Assert.Equal(TelemetryExtensions.MetricsPath, jobs[j].Text("metrics_path")));
        Assert.Contains($"otel-collector:{collectorPort}", Targets(jobs["otel-collector"]));
        Assert.Equal("/etc/prometheus/prometheus.yaml", MountTarget(Services.Get("prometheus"), "./monitoring/prometheus.yaml"));
        Assert.Contains("--config.file=/etc/prometheus/prometheus.yaml", Services.Get("prometheus").Get("command").Items().Select(c => c.Text()));

        // Each process's service name and the port its /metrics is served on: a gateway's metrics listener, which is
        // not its public port; a silo's HTTP port (the one its healthcheck uses), which is not published.
        static HashSet<string> Expected(string dockerfile) =>
            LiveStreamServices().Where(s => s.Node.Get("build").Text("dockerfile") == $"deploy/{dockerfile}")
                .Select(s => $"{s.Name}:{MetricsPort(s.Node)}").ToHashSet();
    }

    [Fact]
    public void Grafana_provisions_the_prometheus_data_source_and_the_dashboard_folder_compose_mounts()
    {
        var grafana = Services.Get("grafana");
        var provisioning = MountTarget(grafana, "./monitoring/grafana/provisioning");
        var dashboards = MountTarget(grafana, "./monitoring/grafana/dashboards");
        var source = YamlNodes.LoadDocuments(Path.Combine(MonitoringFolder, "grafana", "provisioning", "datasources", "prometheus.yaml")).Single().Get("datasources").Items().Single();
        var provider = YamlNodes.LoadDocuments(Path.Combine(MonitoringFolder, "grafana", "provisioning", "dashboards", "livestream.yaml")).Single().Get("providers").Items().Single();
        var prometheusPort = Services.Get("prometheus").Get("ports").Items().Single().Text().Split(':').Last();

        Assert.Equal("/etc/grafana/provisioning", provisioning);
        Assert.Equal(dashboards, provider.Get("options").Text("path"));
        Assert.Equal($"http://prometheus:{prometheusPort}", source.Text("url"));
        Assert.Equal("prometheus", source.Text("type"));
        Assert.All(DashboardDataSources(), uid => Assert.Equal(source.Text("uid"), uid));
        Assert.All(new[] { "prometheus", "grafana" }, s => Assert.StartsWith("127.0.0.1:", Services.Get(s).Get("ports").Items().Single().Text(), StringComparison.Ordinal));
    }

    [Fact]
    public void The_dashboard_shows_sessions_ingest_chunk_latency_p99_ffmpeg_restarts_and_per_silo_load()
    {
        var expressions = PromQl.DashboardExpressions(Dashboard);
        var jobs = Prometheus.Get("scrape_configs").Items().Select(j => j.Text("job_name")).ToHashSet();

        Assert.Equal("livestream-overview", Dashboard.GetProperty("uid").GetString());
        Assert.Contains(expressions, e => e.Contains("livestream_sessions_active", StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.Contains("rate(livestream_ingest_bytes_total", StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.StartsWith("histogram_quantile(0.99, sum by (le) (rate(livestream_chunk_latency_", StringComparison.Ordinal) && e.Contains("_bucket", StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.Contains("livestream_ffmpeg_restarts_total", StringComparison.Ordinal));
        Assert.True(expressions.Count(e => e.StartsWith("sum by (instance)", StringComparison.Ordinal)) >= 3, "per-silo panels sum by instance");
        Assert.All(expressions, e =>
        {
            Assert.NotEmpty(PromQl.MetricNames(e));
            Assert.All(JobSelector().Matches(e), m => Assert.Contains(m.Groups[1].Value, jobs));

            // Every series selector names its job: the collector re-exports the same names under job otel-collector.
            Assert.All(PromQl.MetricNames(e), name => Assert.All(
                Regex.Matches(e, $@"\b{Regex.Escape(name)}\b(\{{[^}}]*\}})?"),
                use => Assert.Contains("job=\"livestream-", use.Value, StringComparison.Ordinal)));
        });
    }

    [Fact]
    public void Metric_names_are_read_from_promql_without_functions_labels_or_grouping()
    {
        var names = PromQl.MetricNames("""histogram_quantile(0.99, sum by (le, instance) (rate(a_seconds_bucket{job="x", le!="+Inf"}[$__rate_interval]))) / ignoring (le) b_total offset 5m and on (job) c""");

        Assert.Equal(new HashSet<string> { "a_seconds_bucket", "b_total", "c" }, names);
    }

    private static IEnumerable<string> DashboardDataSources() =>
        Dashboard.GetProperty("panels").EnumerateArray()
            .Where(p => p.GetProperty("type").GetString() != "row")
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("datasource")).Append(p.GetProperty("datasource")))
            .Select(d => d.GetProperty("uid").GetString()!);

    private static IEnumerable<(string Name, YamlNode Node)> LiveStreamServices() =>
        Services.Entries().Where(s => s.Value.Find("build") is not null);

    private static HashSet<string> Targets(YamlNode job) =>
        job.Get("static_configs").Items().SelectMany(c => c.Get("targets").Items()).Select(t => t.Text()).ToHashSet();

    /// <summary>
    /// Where the service serves /metrics: the gateway's <c>LiveStream__Gateway__MetricsUrl</c>, which must not be a
    /// published port, else the service's HTTP port (its healthcheck's).
    /// </summary>
    private static int MetricsPort(YamlNode service)
    {
        var health = new Uri(service.Get("healthcheck").Get("test").Items().Last().Text()).Port;
        if (service.Get("environment").Find("LiveStream__Gateway__MetricsUrl") is not { } metricsUrl)
        {
            return health;
        }

        var port = new Uri(metricsUrl.Text()).Port;
        Assert.NotEqual(health, port);
        Assert.DoesNotContain(service.Find("ports")?.Items().Select(p => p.Text()) ?? [], p => p.EndsWith($":{port}", StringComparison.Ordinal));
        return port;
    }

    /// <summary>Where the service mounts <paramref name="source"/> (relative to deploy/), which must exist.</summary>
    private static string MountTarget(YamlNode service, string source)
    {
        Assert.True(Path.Exists(Path.Combine(DeployFolder, source)), $"{source} does not exist");
        var mount = Assert.Single(service.Get("volumes").Items().Select(v => v.Text().Split(':')), v => v[0] == source);
        return mount[1];
    }

    [GeneratedRegex("job=\"([^\"]+)\"")]
    private static partial Regex JobSelector();
}

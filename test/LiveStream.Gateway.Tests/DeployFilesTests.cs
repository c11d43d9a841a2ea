using System.Text.RegularExpressions;
using System.Xml.Linq;
using k8s;
using k8s.Models;
using LiveStream.Gateway.Options;
using LiveStream.Gateway.Tests.Deploy;
using LiveStream.Options;
using LiveStream.Testing;
using Microsoft.Extensions.Configuration;
using Orleans.Hosting.Kubernetes;
using YamlDotNet.RepresentationModel;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// The deploy files checked without Docker or a cluster: they parse, their images run the projects' assemblies,
/// and their ports, variables and probes agree with each other and with the options the processes bind.
/// </summary>
public sealed class DeployFilesTests
{
    private static readonly string DeployFolder = Path.Combine(RepoPaths.Root, "deploy");
    private static readonly string KubernetesFolder = Path.Combine(DeployFolder, "k8s");

    private static readonly Dockerfile SiloImage = Dockerfile.Load(Path.Combine(DeployFolder, "Dockerfile.silo"));
    private static readonly Dockerfile GatewayImage = Dockerfile.Load(Path.Combine(DeployFolder, "Dockerfile.gateway"));

    /// <summary>The Redis connection string of the Kubernetes silos and gateways, the password's stand-in expanded.</summary>
    private static readonly string RedisWithPassword = $"redis:6379,password={KubernetesManifests.SecretStandIn("livestream-redis", "password")}";

    private static readonly YamlNode ComposeServices = YamlNodes.LoadDocuments(Path.Combine(DeployFolder, "compose.yaml")).Single().Get("services");

    [Fact]
    public void Every_yaml_file_under_deploy_parses()
    {
        var files = Directory.EnumerateFiles(DeployFolder, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}.local-cluster{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();

        Assert.Contains(Path.Combine(DeployFolder, "compose.yaml"), files);
        Assert.Contains(Path.Combine(KubernetesFolder, "kustomization.yaml"), files);
        Assert.All(files, f => Assert.NotEmpty(YamlNodes.LoadDocuments(f)));

        // Strict: a misspelt or misplaced field of a Kubernetes object fails here, not at kubectl apply.
        Assert.Equal(16, KubernetesManifests.All.Count);
        Assert.All(KubernetesManifests.All, m =>
        {
            var metadata = ((IKubernetesObject<V1ObjectMeta>)m).Metadata;
            Assert.False(string.IsNullOrEmpty(metadata.Name));
            Assert.Equal(m is V1Namespace ? null : "livestream", metadata.NamespaceProperty);
        });
    }

    [Fact]
    public void Kustomization_lists_every_manifest_and_both_images()
    {
        var kustomization = YamlNodes.LoadDocuments(Path.Combine(KubernetesFolder, "kustomization.yaml")).Single();
        var listed = kustomization.Get("resources").Items().Select(r => r.Text()).Order(StringComparer.Ordinal);
        var present = Directory.EnumerateFiles(KubernetesFolder, "*.yaml").Select(Path.GetFileName)
            .Where(f => f != "kustomization.yaml").Order(StringComparer.Ordinal);
        var images = kustomization.Get("images").Items().Select(i => i.Text("name")).ToHashSet();

        Assert.Equal(present, listed);
        Assert.Equal(new HashSet<string> { "livestream-silo", "livestream-gateway" }, images);
        Assert.Equal("livestream-silo", Container(Deployment("livestream-silo")).Image);
        Assert.Equal("livestream-gateway", Container(Deployment("livestream-gateway")).Image);
    }

    [Theory]
    [InlineData("Silo", "Dockerfile.silo")]
    [InlineData("Gateway", "Dockerfile.gateway")]
    public void An_image_publishes_its_project_in_release_and_runs_its_assembly_as_a_non_root_user(string project, string dockerfile)
    {
        var image = Dockerfile.Load(Path.Combine(DeployFolder, dockerfile));
        var csproj = Path.Combine("src", project, $"LiveStream.{project}.csproj");
        var assemblyName = XDocument.Load(Path.Combine(RepoPaths.Root, csproj)).Descendants("AssemblyName").Single().Value;

        Assert.Equal($"LiveStream.{project}", assemblyName);
        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0 AS build", "mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime"], image.Stages);
        Assert.Contains(image.Arguments("RUN"), r => r.StartsWith($"dotnet publish {csproj} -c Release ", StringComparison.Ordinal) && r.EndsWith("-o /app", StringComparison.Ordinal));
        Assert.Contains("--from=build /app ./", image.Runtime.Arguments("COPY"));
        Assert.Equal(["dotnet", $"{assemblyName}.dll"], image.Entrypoint);
        Assert.Equal("$APP_UID", image.Runtime.User);
        Assert.Equal("/data", ProcessConfiguration.For(project, image.Runtime.Environment).Bind<LiveStreamOptions>(LiveStreamOptions.Section).DataPath);
    }

    [Fact]
    public void The_gateway_image_runs_the_gateway_assembly_and_never_hosts_a_silo_so_only_the_silo_image_has_ffmpeg()
    {
        var gateway = ProcessConfiguration.For("Gateway", GatewayImage.Runtime.Environment);

        Assert.Equal(typeof(Program).Assembly.GetName().Name + ".dll", GatewayImage.Entrypoint[1]);
        Assert.False(gateway.Bind<GatewayHostingOptions>(GatewayHostingOptions.Section).HostSilo);
        Assert.Contains(SiloImage.Runtime.Arguments("RUN"), r => Regex.IsMatch(r, @"apt-get install -y --no-install-recommends .*\bffmpeg\b"));
        Assert.DoesNotContain(GatewayImage.Arguments("RUN"), r => r.Contains("ffmpeg", StringComparison.Ordinal));
    }

    [Fact]
    public void The_silo_image_exposes_its_http_silo_and_gateway_ports_and_listens_on_every_address()
    {
        var silo = ProcessConfiguration.For("Silo", SiloImage.Runtime.Environment);
        var cluster = silo.Bind<ClusterHostingOptions>(ClusterHostingOptions.Section);

        Assert.Equal("http://0.0.0.0:9100", silo["urls"]);
        Assert.Equal((11111, 30000), (cluster.SiloPort, cluster.GatewayPort));
        Assert.True(cluster.ListenOnAnyAddress);
        Assert.Equal(new HashSet<int> { 9100, 11111, 30000 }, SiloImage.Runtime.ExposedPorts);
        Assert.Equal(new HashSet<int> { silo.ListeningPort(), cluster.SiloPort, cluster.GatewayPort }, SiloImage.Runtime.ExposedPorts);
    }

    [Fact]
    public void The_gateway_image_exposes_8080_and_its_metrics_port_and_listens_on_every_address()
    {
        var gateway = ProcessConfiguration.For("Gateway", GatewayImage.Runtime.Environment);

        Assert.Equal("http://0.0.0.0:8080", gateway["urls"]);
        Assert.Equal("http://0.0.0.0:9464", gateway.Bind<GatewayHostingOptions>(GatewayHostingOptions.Section).MetricsUrl);
        Assert.Equal(new HashSet<int> { 8080, 9464 }, GatewayImage.Runtime.ExposedPorts);
    }

    [Fact]
    public void Setting_ASPNETCORE_URLS_alone_would_leave_a_process_on_loopback()
    {
        // What the images avoid by setting URLS: appsettings.json's Urls wins over the ASPNETCORE_ variables.
        var silo = ProcessConfiguration.For("Silo", new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = "http://0.0.0.0:9100" });

        Assert.Equal("http://127.0.0.1:8090", silo["urls"]);
    }

    [Fact]
    public void Environment_variables_in_the_deploy_files_name_real_options()
    {
        var sources = new List<(string Source, IReadOnlyDictionary<string, string?> Environment)>
        {
            ("Dockerfile.silo", SiloImage.Runtime.Environment),
            ("Dockerfile.gateway", GatewayImage.Runtime.Environment),
        };
        sources.AddRange(ComposeServices.Entries().Where(s => s.Value.Find("build") is not null).Select(s => ($"compose.yaml {s.Key}", (IReadOnlyDictionary<string, string?>)ComposeEnvironment(s.Value))));
        sources.AddRange(KubernetesManifests.All.OfType<V1Deployment>().Select(d => ($"k8s {d.Metadata.Name}", (IReadOnlyDictionary<string, string?>)KubernetesManifests.Environment(Container(d)))));

        Assert.Equal(8, sources.Count);
        Assert.All(sources, s => ProcessConfiguration.AssertNamesRealOptions(s.Source, s.Environment));
    }

    [Fact]
    public void Compose_runs_redis_with_append_only_persistence_and_every_process_finds_it()
    {
        var redis = ComposeServices.Get("redis");
        var command = redis.Get("command").Items().Select(c => c.Text()).ToList();

        Assert.StartsWith("redis:7", redis.Text("image"), StringComparison.Ordinal);
        Assert.Equal("yes", command[command.IndexOf("--appendonly") + 1]);
        Assert.DoesNotContain("--port", command);
        Assert.Contains("redis-data:/data", redis.Get("volumes").Items().Select(v => v.Text()));
        Assert.All(LiveStreamServices(), s =>
        {
            Assert.Equal("redis:6379", s.Configuration.GetConnectionString("Redis"));
            Assert.Equal("service_healthy", s.Node.Get("depends_on").Get("redis").Text("condition"));
        });
    }

    [Fact]
    public void Compose_silos_advertise_their_own_fixed_address_and_listen_on_every_address()
    {
        var silos = LiveStreamServices().Where(s => s.Dockerfile == "deploy/Dockerfile.silo").ToList();
        var network = YamlNodes.LoadDocuments(Path.Combine(DeployFolder, "compose.yaml")).Single().Get("networks").Get("cluster").Get("ipam").Get("config").Items().Single();

        Assert.Equal(2, silos.Count);
        Assert.Equal(["172.28.0.11", "172.28.0.12"], silos.Select(s => s.Configuration.Bind<ClusterHostingOptions>(ClusterHostingOptions.Section).AdvertisedAddress));
        Assert.All(silos, s =>
        {
            var cluster = s.Configuration.Bind<ClusterHostingOptions>(ClusterHostingOptions.Section);
            Assert.Equal(s.Node.Get("networks").Get("cluster").Text("ipv4_address"), cluster.AdvertisedAddress);
            Assert.True(cluster.ListenOnAnyAddress);
            Assert.True(InSubnet(cluster.AdvertisedAddress, network.Text("subnet")));
            Assert.False(InSubnet(cluster.AdvertisedAddress, network.Text("ip_range")));
            Assert.Empty(s.PublishedPorts);
        });
    }

    [Fact]
    public void Compose_gateways_are_published_on_8080_and_8081_and_take_the_admin_token_from_the_environment()
    {
        var gateways = LiveStreamServices().Where(s => s.Dockerfile == "deploy/Dockerfile.gateway").ToList();

        Assert.Equal(2, gateways.Count);
        Assert.Equal([(8080, 8080), (8081, 8080)], gateways.SelectMany(g => g.PublishedPorts));
        Assert.All(gateways, g =>
        {
            Assert.False(g.Configuration.Bind<GatewayHostingOptions>(GatewayHostingOptions.Section).HostSilo);
            Assert.Matches(@"^\$\{LIVESTREAM_ADMIN_TOKEN:\?[^}]+\}$", g.Configuration.Bind<LiveStreamOptions>(LiveStreamOptions.Section).AdminToken);
            Assert.Contains(g.PublishedPorts.Single().Container, GatewayImage.Runtime.ExposedPorts);
            Assert.Equal(g.Configuration.ListeningPort(), g.PublishedPorts.Single().Container);

            // The metrics listener is reached on the cluster network only.
            Assert.NotEqual(g.PublishedPorts.Single().Container, g.Configuration.Bind<GatewayHostingOptions>(GatewayHostingOptions.Section).MetricsPort);
        });
    }

    [Fact]
    public void Compose_shares_one_data_volume_and_checks_health_on_each_process_http_port()
    {
        var services = LiveStreamServices();

        Assert.Equal(4, services.Count);
        Assert.All(services, s =>
        {
            Assert.Equal("/data", s.Configuration.Bind<LiveStreamOptions>(LiveStreamOptions.Section).DataPath);
            Assert.Contains("data:/data", s.Node.Get("volumes").Items().Select(v => v.Text()));
            Assert.Equal(["CMD", "curl", "-fsS", $"http://127.0.0.1:{s.Configuration.ListeningPort()}/health/ready"], s.Node.Get("healthcheck").Get("test").Items().Select(t => t.Text()));
        });
        Assert.Equal([9100, 9100, 8080, 8080], services.Select(s => s.Configuration.ListeningPort()));
    }

    [Fact]
    public void Kubernetes_silos_follow_the_orleans_kubernetes_hosting_conventions()
    {
        var deployment = Deployment("livestream-silo");
        var container = Container(deployment);
        var labels = deployment.Spec.Template.Metadata.Labels;
        var silo = ProcessConfiguration.For("Silo", Merge(SiloImage.Runtime.Environment, KubernetesManifests.Environment(container)));
        var cluster = silo.Bind<ClusterHostingOptions>(ClusterHostingOptions.Section);
        var gateway = ProcessConfiguration.For("Gateway", Merge(GatewayImage.Runtime.Environment, KubernetesManifests.Environment(Container(Deployment("livestream-gateway")))))
            .Bind<ClusterHostingOptions>(ClusterHostingOptions.Section);

        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.Equal("livestream", cluster.ServiceId);
        Assert.Equal("livestream", cluster.ClusterId);
        Assert.Equal(cluster.ServiceId, Env(container, KubernetesHostingOptions.ServiceIdEnvironmentVariable).Value);
        Assert.Equal(cluster.ClusterId, Env(container, KubernetesHostingOptions.ClusterIdEnvironmentVariable).Value);
        Assert.Equal(cluster.ServiceId, labels[KubernetesHostingOptions.ServiceIdLabel]);
        Assert.Equal(cluster.ClusterId, labels[KubernetesHostingOptions.ClusterIdLabel]);
        Assert.Equal((cluster.ServiceId, cluster.ClusterId), (gateway.ServiceId, gateway.ClusterId));
        Assert.Equal("metadata.name", Env(container, KubernetesHostingOptions.PodNameEnvironmentVariable).ValueFrom.FieldRef.FieldPath);
        Assert.Equal("metadata.namespace", Env(container, KubernetesHostingOptions.PodNamespaceEnvironmentVariable).ValueFrom.FieldRef.FieldPath);
        Assert.Equal("status.podIP", Env(container, KubernetesHostingOptions.PodIPEnvironmentVariable).ValueFrom.FieldRef.FieldPath);

        // Kubernetes hosting is used with Redis clustering only.
        Assert.Equal(RedisWithPassword, silo.GetConnectionString("Redis"));
        Assert.Equal(SiloImage.Runtime.ExposedPorts, container.Ports.Select(p => p.ContainerPort).ToHashSet());
        Assert.Equal(new HashSet<int> { silo.ListeningPort(), cluster.SiloPort, cluster.GatewayPort }, container.Ports.Select(p => p.ContainerPort).ToHashSet());
    }

    [Fact]
    public void Kubernetes_silos_may_read_label_list_and_watch_their_pods_but_not_delete_them()
    {
        var deployment = Deployment("livestream-silo");
        var account = deployment.Spec.Template.Spec.ServiceAccountName;
        var binding = Assert.Single(KubernetesManifests.All.OfType<V1RoleBinding>(), b => b.Subjects.Any(s => s.Kind == "ServiceAccount" && s.Name == account && s.NamespaceProperty == "livestream"));
        var role = Assert.Single(KubernetesManifests.All.OfType<V1Role>(), r => r.Metadata.Name == binding.RoleRef.Name);
        var pods = Assert.Single(role.Rules, r => r.Resources.Contains("pods"));

        Assert.Contains(KubernetesManifests.All.OfType<V1ServiceAccount>(), a => a.Metadata.Name == account);
        Assert.Equal("Role", binding.RoleRef.Kind);
        Assert.Equal([""], pods.ApiGroups);
        Assert.Equal(new HashSet<string> { "get", "list", "watch", "patch" }, pods.Verbs.ToHashSet());
    }

    [Fact]
    public void Kubernetes_gateways_take_the_admin_token_from_a_secret_and_serve_on_8080()
    {
        var deployment = Deployment("livestream-gateway");
        var container = Container(deployment);
        var gateway = ProcessConfiguration.For("Gateway", Merge(GatewayImage.Runtime.Environment, KubernetesManifests.Environment(container)));
        var token = Env(container, "LiveStream__AdminToken").ValueFrom.SecretKeyRef;
        var service = Service("livestream-gateway");

        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.False(gateway.Bind<GatewayHostingOptions>(GatewayHostingOptions.Section).HostSilo);
        Assert.Equal(RedisWithPassword, gateway.GetConnectionString("Redis"));
        Assert.Equal(("livestream-admin", "token"), (token.Name, token.Key));
        Assert.Equal([("http", 8080), ("metrics", 9464)], container.Ports.Select(p => (p.Name, p.ContainerPort)));
        Assert.Equal(GatewayImage.Runtime.ExposedPorts, container.Ports.Select(p => p.ContainerPort).ToHashSet());
        Assert.Equal(gateway.ListeningPort(), container.Ports.Single(p => p.Name == "http").ContainerPort);
        Assert.Equal(gateway.Bind<GatewayHostingOptions>(GatewayHostingOptions.Section).MetricsPort, container.Ports.Single(p => p.Name == "metrics").ContainerPort);
        Assert.Equal((8080, "8080"), (service.Spec.Ports.Single().Port, service.Spec.Ports.Single().TargetPort.Value));
        Assert.All(service.Spec.Selector, s => Assert.Equal(s.Value, deployment.Spec.Template.Metadata.Labels[s.Key]));
        Assert.False(deployment.Spec.Template.Spec.AutomountServiceAccountToken);
    }

    [Theory]
    [InlineData("livestream-silo", 9100)]
    [InlineData("livestream-gateway", 8080)]
    public void Kubernetes_probes_hit_the_health_endpoints_on_the_http_port(string name, int port)
    {
        var container = Container(Deployment(name));

        Assert.Equal(("/health/live", port.ToString(System.Globalization.CultureInfo.InvariantCulture)), (container.LivenessProbe.HttpGet.Path, container.LivenessProbe.HttpGet.Port.Value));
        Assert.Equal(("/health/live", port.ToString(System.Globalization.CultureInfo.InvariantCulture)), (container.StartupProbe.HttpGet.Path, container.StartupProbe.HttpGet.Port.Value));
        Assert.Equal(("/health/ready", port.ToString(System.Globalization.CultureInfo.InvariantCulture)), (container.ReadinessProbe.HttpGet.Path, container.ReadinessProbe.HttpGet.Port.Value));
        Assert.Contains(container.Ports, p => p.ContainerPort == port && p.Name == "http");
    }

    [Fact]
    public void Kubernetes_silos_and_gateways_share_a_read_write_many_volume_at_the_data_path()
    {
        var claims = new[] { "livestream-silo", "livestream-gateway" }.Select(name =>
        {
            var pod = Deployment(name).Spec.Template.Spec;
            var mount = Assert.Single(Container(Deployment(name)).VolumeMounts, m => m.MountPath == "/data");
            Assert.Equal(1654, pod.SecurityContext.FsGroup);
            Assert.True(pod.SecurityContext.RunAsNonRoot);
            return pod.Volumes.Single(v => v.Name == mount.Name).PersistentVolumeClaim.ClaimName;
        }).Distinct().ToList();
        var claim = Assert.Single(KubernetesManifests.All.OfType<V1PersistentVolumeClaim>(), c => c.Metadata.Name == Assert.Single(claims));

        Assert.Equal(["ReadWriteMany"], claim.Spec.AccessModes);
    }

    [Fact]
    public void Kubernetes_redis_persists_its_append_only_file_behind_the_service_the_processes_use()
    {
        var redis = Assert.Single(KubernetesManifests.All.OfType<V1StatefulSet>());
        var container = redis.Spec.Template.Spec.Containers.Single();
        var service = Service("redis");
        var template = Assert.Single(redis.Spec.VolumeClaimTemplates);

        Assert.StartsWith("redis:7", container.Image, StringComparison.Ordinal);
        Assert.Equal("yes", container.Args[container.Args.IndexOf("--appendonly") + 1]);
        Assert.Equal("/data", container.VolumeMounts.Single(m => m.Name == template.Metadata.Name).MountPath);
        Assert.Equal((6379, "6379"), (service.Spec.Ports.Single().Port, service.Spec.Ports.Single().TargetPort.Value));
        Assert.Equal(6379, container.Ports.Single().ContainerPort);
        Assert.All(service.Spec.Selector, s => Assert.Equal(s.Value, redis.Spec.Template.Metadata.Labels[s.Key]));
    }

    private static V1Deployment Deployment(string name) => Assert.Single(KubernetesManifests.All.OfType<V1Deployment>(), d => d.Metadata.Name == name);

    private static V1Service Service(string name) => Assert.Single(KubernetesManifests.All.OfType<V1Service>(), s => s.Metadata.Name == name);

    private static V1Container Container(V1Deployment deployment) => deployment.Spec.Template.Spec.Containers.Single();

    private static V1EnvVar Env(V1Container container, string name) => Assert.Single(container.Env, e => e.Name == name);

    private static Dictionary<string, string?> ComposeEnvironment(YamlNode service) =>
        service.Get("environment").Entries().ToDictionary(e => e.Key, e => (string?)e.Value.Text());

    private static Dictionary<string, string?> Merge(IReadOnlyDictionary<string, string?> image, IReadOnlyDictionary<string, string?> overrides) =>
        image.Concat(overrides).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>The compose services built from a LiveStream Dockerfile, with the configuration their process sees.</summary>
    private static List<ComposeService> LiveStreamServices() =>
        ComposeServices.Entries().Where(s => s.Value.Find("build") is not null).Select(s =>
        {
            var dockerfile = s.Value.Get("build").Text("dockerfile");
            Assert.Equal("..", s.Value.Get("build").Text("context"));
            var (project, image) = dockerfile switch
            {
                "deploy/Dockerfile.silo" => ("Silo", SiloImage),
                "deploy/Dockerfile.gateway" => ("Gateway", GatewayImage),
                _ => throw new InvalidOperationException($"{s.Key}: unknown dockerfile {dockerfile}"),
            };
            var ports = s.Value.Find("ports")?.Items().Select(p => p.Text().Split(':')).Select(p => (int.Parse(p[0]), int.Parse(p[1]))).ToList() ?? [];
            return new ComposeService(s.Key, s.Value, dockerfile, ProcessConfiguration.For(project, Merge(image.Runtime.Environment, ComposeEnvironment(s.Value))), ports);
        }).ToList();

    private static bool InSubnet(string address, string cidr)
    {
        var network = System.Net.IPNetwork.Parse(cidr);
        return network.Contains(System.Net.IPAddress.Parse(address));
    }

    private sealed record ComposeService(string Name, YamlNode Node, string Dockerfile, IConfiguration Configuration, List<(int Host, int Container)> PublishedPorts);
}

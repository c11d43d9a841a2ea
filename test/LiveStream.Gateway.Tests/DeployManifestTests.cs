using System.Net;
using System.Text.RegularExpressions;
using k8s.Models;
using LiveStream.Gateway.Options;
using LiveStream.Gateway.Tests.Deploy;
using LiveStream.Options;
using LiveStream.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using YamlDotNet.RepresentationModel;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// The Kubernetes manifests checked for what a cluster operator asks of them, without a cluster: Pod Security
/// "restricted", resources, disruption budgets, spreading over nodes, a pause before SIGTERM with time to drain,
/// network policies that open each port to its clients only, Redis behind a password, and references that resolve.
/// </summary>
public sealed class DeployManifestTests
{
    /// <summary>The UID of the user "app" of the .NET images (<c>$APP_UID</c>), which both Dockerfiles run as.</summary>
    private const long DotnetAppUid = 1654;

    /// <summary>The UID of the user "redis" of the redis image.</summary>
    private const long RedisUid = 999;

    private const string Silo = "livestream-silo";
    private const string Gateway = "livestream-gateway";
    private const string Redis = "redis";

    private static readonly string DeployFolder = Path.Combine(RepoPaths.Root, "deploy");

    /// <summary>Volume types Pod Security "restricted" allows.</summary>
    private static readonly Func<V1Volume, bool>[] RestrictedVolumeTypes =
    [
        v => v.PersistentVolumeClaim is not null,
        v => v.EmptyDir is not null,
        v => v.Secret is not null,
        v => v.ConfigMap is not null,
        v => v.Projected is not null,
        v => v.DownwardAPI is not null,
        v => v.Csi is not null,
        v => v.Ephemeral is not null,
    ];

    /// <summary>How long the host gives its services to stop (HostOptions.ShutdownTimeout, which neither process changes).</summary>
    private static readonly TimeSpan HostShutdownTimeout = new HostOptions().ShutdownTimeout;

    [Fact]
    public void The_namespace_enforces_pod_security_restricted()
    {
        var labels = Assert.Single(KubernetesManifests.All.OfType<V1Namespace>()).Metadata.Labels;

        Assert.Equal("restricted", labels["pod-security.kubernetes.io/enforce"]);
        Assert.Equal("restricted", labels["pod-security.kubernetes.io/audit"]);
        Assert.Equal("restricted", labels["pod-security.kubernetes.io/warn"]);
    }

    [Fact]
    public void Every_pod_and_container_meets_pod_security_restricted()
    {
        var workloads = KubernetesManifests.Workloads();

        Assert.Equal(new HashSet<string> { Silo, Gateway, Redis }, workloads.Select(w => w.Name).ToHashSet());
        Assert.All(workloads, w =>
        {
            var pod = w.Pod.SecurityContext;
            Assert.False(w.Pod.HostNetwork == true || w.Pod.HostPID == true || w.Pod.HostIPC == true, $"{w.Name}: shares a host namespace");
            Assert.All(w.Pod.Volumes ?? [], v => Assert.True(RestrictedVolumeTypes.Any(allowed => allowed(v)), $"{w.Name}: volume {v.Name} is of a type restricted forbids"));
            Assert.All(w.Containers, c =>
            {
                var where = $"{w.Name}/{c.Name}";
                var container = c.SecurityContext;
                Assert.True(container?.AllowPrivilegeEscalation == false, $"{where}: allowPrivilegeEscalation must be false");
                Assert.True(container?.Privileged != true, $"{where}: privileged");
                Assert.True(container?.Capabilities?.Drop?.Contains("ALL") == true, $"{where}: capabilities must drop ALL");
                Assert.True(container.Capabilities.Add is null or { Count: 0 }, $"{where}: adds capabilities");
                Assert.True((container.RunAsNonRoot ?? pod?.RunAsNonRoot) == true, $"{where}: runAsNonRoot must be true");
                Assert.True((container.RunAsUser ?? pod?.RunAsUser) is > 0, $"{where}: runAsUser must be set and not 0");
                Assert.True((container.SeccompProfile ?? pod?.SeccompProfile)?.Type == "RuntimeDefault", $"{where}: seccompProfile must be RuntimeDefault");
                Assert.True(container.ReadOnlyRootFilesystem == true, $"{where}: readOnlyRootFilesystem must be true");
            });
        });
    }

    [Theory]
    [InlineData(Silo, "Dockerfile.silo")]
    [InlineData(Gateway, "Dockerfile.gateway")]
    public void LiveStream_pods_run_as_the_app_user_their_image_runs_as(string name, string dockerfile)
    {
        var pod = KubernetesManifests.Workload(name).Pod.SecurityContext;

        Assert.Equal("$APP_UID", Dockerfile.Load(Path.Combine(DeployFolder, dockerfile)).Runtime.User);
        Assert.Equal((DotnetAppUid, DotnetAppUid, DotnetAppUid), (pod.RunAsUser, pod.RunAsGroup, pod.FsGroup));
    }

    [Fact]
    public void Redis_runs_as_the_redis_user_of_its_image_and_owns_its_volume()
    {
        var redis = KubernetesManifests.Workload(Redis);
        var pod = redis.Pod.SecurityContext;
        var template = Assert.Single(Assert.Single(KubernetesManifests.All.OfType<V1StatefulSet>()).Spec.VolumeClaimTemplates);

        Assert.StartsWith("redis:", Assert.Single(redis.Pod.Containers).Image, StringComparison.Ordinal);
        Assert.Equal((RedisUid, RedisUid, RedisUid), (pod.RunAsUser, pod.RunAsGroup, pod.FsGroup));
        Assert.Equal("/data", Assert.Single(redis.Pod.Containers).VolumeMounts.Single(m => m.Name == template.Metadata.Name).MountPath);
    }

    [Theory]
    [InlineData(Silo)]
    [InlineData(Gateway)]
    public void With_a_read_only_root_filesystem_tmp_and_the_data_folder_stay_writable(string name)
    {
        var workload = KubernetesManifests.Workload(name);
        var container = Assert.Single(workload.Pod.Containers);
        V1Volume VolumeAt(string path) => workload.Pod.Volumes.Single(v => v.Name == Assert.Single(container.VolumeMounts, m => m.MountPath == path).Name);

        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.NotNull(VolumeAt("/tmp").EmptyDir);
        Assert.NotNull(VolumeAt("/data").PersistentVolumeClaim);
        Assert.Equal("/data", KubernetesManifests.Environment(container)["LiveStream__DataPath"]);
    }

    [Fact]
    public void No_pod_shares_its_process_namespace_so_no_other_process_reads_a_relays_command_line()
    {
        // FFmpeg 5.1 takes an RTMP target's URL, key included, only from its arguments: /proc/<pid>/cmdline of a relay
        // must stay readable by its own container only.
        Assert.All(KubernetesManifests.Workloads(), w =>
        {
            Assert.NotEqual(true, w.Pod.ShareProcessNamespace);
            Assert.NotEqual(true, w.Pod.HostPID);
            Assert.NotEqual(true, w.Pod.HostIPC);
            Assert.Single(w.Pod.Containers);
        });
    }

    [Fact]
    public void Only_the_silos_get_a_service_account_token()
    {
        Assert.Equal(Silo, KubernetesManifests.Workload(Silo).Pod.ServiceAccountName);
        Assert.NotEqual(false, KubernetesManifests.Workload(Silo).Pod.AutomountServiceAccountToken);
        Assert.False(KubernetesManifests.Workload(Gateway).Pod.AutomountServiceAccountToken);
        Assert.False(KubernetesManifests.Workload(Redis).Pod.AutomountServiceAccountToken);
    }

    [Fact]
    public void Every_container_requests_cpu_and_memory_and_is_limited_to_the_memory_it_requests()
    {
        var containers = KubernetesManifests.Workloads().SelectMany(w => w.Containers.Select(c => (Where: $"{w.Name}/{c.Name}", Resources: c.Resources))).ToList();

        Assert.Equal(3, containers.Count);
        Assert.All(containers, c =>
        {
            Assert.True(c.Resources?.Requests?.ContainsKey("cpu") == true && c.Resources.Requests["cpu"].ToDecimal() > 0, $"{c.Where}: no CPU request");
            Assert.True(c.Resources.Requests.ContainsKey("memory") && c.Resources.Requests["memory"].ToDecimal() > 0, $"{c.Where}: no memory request");
            Assert.True(c.Resources.Limits?.ContainsKey("memory") == true, $"{c.Where}: no memory limit");
            Assert.True(c.Resources.Limits["memory"].ToDecimal() == c.Resources.Requests["memory"].ToDecimal(), $"{c.Where}: the memory limit differs from the request, so the node may be overcommitted");
        });
    }

    [Fact]
    public void A_silo_counts_the_cores_it_requests_so_its_admission_capacity_follows_the_cpu_request()
    {
        var container = Assert.Single(KubernetesManifests.Workload(Silo).Pod.Containers);
        var reference = Assert.Single(container.Env, e => e.Name == "DOTNET_PROCESSOR_COUNT").ValueFrom.ResourceFieldRef;
        var cores = container.Resources.Requests["cpu"].ToDecimal();
        var configuration = SiloConfiguration(container);

        Assert.Equal((container.Name, "requests.cpu", 1m), (reference.ContainerName, reference.Resource, reference.Divisor.ToDecimal()));
        Assert.True(cores >= 1 && cores == decimal.Floor(cores), $"the silo's CPU request ({cores}) must be whole cores: the downward API rounds it up, so 1.5 cores would count as 2");
        Assert.Equal(cores.ToString(System.Globalization.CultureInfo.InvariantCulture), configuration["DOTNET_PROCESSOR_COUNT"]);

        // 0: the capacity is AdmissionOptions.UnitsPerCore per processor .NET counts.
        Assert.Equal(0, configuration.Bind<AdmissionOptions>(AdmissionOptions.Section).CapacityUnits);

        // A CPU limit would throttle FFmpeg, and a live encoder that is throttled falls behind.
        Assert.False(container.Resources.Limits?.ContainsKey("cpu") == true, "the silo must not have a CPU limit");
    }

    [Theory]
    [InlineData(Silo)]
    [InlineData(Gateway)]
    public void A_drain_evicts_one_pod_at_a_time_and_never_waits_on_an_unhealthy_one(string name)
    {
        var workload = KubernetesManifests.Workload(name);
        var budget = Assert.Single(KubernetesManifests.All.OfType<V1PodDisruptionBudget>(), b => b.Spec.Selector.Selects(workload.Labels));

        Assert.True(workload.Replicas >= 2, $"{name}: one replica and a budget would block drains");
        Assert.Null(budget.Spec.MinAvailable);
        Assert.Equal("1", budget.Spec.MaxUnavailable?.Value);
        Assert.Equal("AlwaysAllow", budget.Spec.UnhealthyPodEvictionPolicy);
        Assert.All(KubernetesManifests.Workloads().Where(w => w.Name != name), w => Assert.False(budget.Spec.Selector.Selects(w.Labels), $"the budget of {name} also selects {w.Name}"));
    }

    [Fact]
    public void Redis_is_one_instance_and_no_disruption_budget_blocks_a_drain_for_it()
    {
        var redis = KubernetesManifests.Workload(Redis);

        Assert.Equal(1, redis.Replicas);
        Assert.DoesNotContain(KubernetesManifests.All.OfType<V1PodDisruptionBudget>(), b => b.Spec.Selector.Selects(redis.Labels));
    }

    [Theory]
    [InlineData(Silo)]
    [InlineData(Gateway)]
    public void Two_pods_of_a_kind_prefer_different_nodes(string name)
    {
        var workload = KubernetesManifests.Workload(name);
        var spread = Assert.Single(workload.Pod.TopologySpreadConstraints ?? [], c => c.TopologyKey == "kubernetes.io/hostname");

        Assert.Equal(1, spread.MaxSkew);
        Assert.Equal("ScheduleAnyway", spread.WhenUnsatisfiable);
        Assert.True(spread.LabelSelector.Selects(workload.Labels), $"{name}: the spread does not count its own pods");
        Assert.All(KubernetesManifests.Workloads().Where(w => w.Name != name), w => Assert.False(spread.LabelSelector.Selects(w.Labels), $"{name}: the spread also counts {w.Name}"));
    }

    [Fact]
    public void A_gateway_pauses_while_it_leaves_the_service_then_has_the_host_shutdown_timeout_to_drain()
    {
        var gateway = KubernetesManifests.Workload(Gateway);
        var pause = PreStopSleep(gateway);

        Assert.True(pause >= TimeSpan.FromSeconds(5), $"the gateway's preStop sleep ({pause}) leaves load balancers too little time to stop sending to it");
        Assert.True(
            TimeSpan.FromSeconds(gateway.Pod.TerminationGracePeriodSeconds ?? 30) > pause + HostShutdownTimeout,
            $"terminationGracePeriodSeconds must exceed the preStop sleep ({pause}) and the host's shutdown timeout ({HostShutdownTimeout}) in which the gateway closes its sockets");
    }

    [Fact]
    public void A_silo_pauses_until_a_new_silo_is_known_to_the_gateways_and_placement_then_has_the_host_shutdown_timeout_to_hand_off()
    {
        var silo = KubernetesManifests.Workload(Silo);
        var pause = PreStopSleep(silo);
        var siloList = GatewayConfiguration(Assert.Single(KubernetesManifests.Workload(Gateway).Pod.Containers)).Bind<IngestOptions>(IngestOptions.Section).SiloListRefresh;
        var report = SiloConfiguration(Assert.Single(silo.Pod.Containers)).Bind<AdmissionOptions>(AdmissionOptions.Section).ReportInterval;

        Assert.True(pause > siloList, $"the silo's preStop sleep ({pause}) must exceed the gateways' LiveStream:Ingest:SiloListRefresh ({siloList})");
        Assert.True(pause > report, $"the silo's preStop sleep ({pause}) must exceed LiveStream:Admission:ReportInterval ({report})");
        Assert.True(
            TimeSpan.FromSeconds(silo.Pod.TerminationGracePeriodSeconds ?? 30) > pause + HostShutdownTimeout,
            $"terminationGracePeriodSeconds must exceed the preStop sleep ({pause}) and the host's shutdown timeout ({HostShutdownTimeout}) in which the silo hands its sessions off");
    }

    [Fact]
    public void A_default_policy_denies_all_ingress_in_the_namespace()
    {
        var policy = Assert.Single(KubernetesManifests.All.OfType<V1NetworkPolicy>(), p => p.Spec.PodSelector.MatchLabels is null && p.Spec.PodSelector.MatchExpressions is null);

        Assert.Equal(["Ingress"], policy.Spec.PolicyTypes);
        Assert.True(policy.Spec.Ingress is null or { Count: 0 }, "the default policy allows something");
    }

    [Fact]
    public void Only_the_gateways_reach_the_silos_orleans_gateway_port()
    {
        var port = SiloConfiguration(SiloContainer()).Bind<ClusterHostingOptions>(ClusterHostingOptions.Section).GatewayPort;

        Assert.Contains(SiloContainer().Ports, p => p.ContainerPort == port);
        AssertOnlyWorkloadsReach(Silo, port, Gateway);
    }

    [Fact]
    public void Only_the_silos_reach_each_others_silo_port()
    {
        var port = SiloConfiguration(SiloContainer()).Bind<ClusterHostingOptions>(ClusterHostingOptions.Section).SiloPort;

        Assert.Contains(SiloContainer().Ports, p => p.ContainerPort == port);
        AssertOnlyWorkloadsReach(Silo, port, Silo);
    }

    [Fact]
    public void Only_the_silos_and_gateways_reach_redis()
    {
        var service = Assert.Single(KubernetesManifests.All.OfType<V1Service>(), s => s.Metadata.Name == Redis);
        var port = int.Parse(service.Spec.Ports.Single().TargetPort.Value, System.Globalization.CultureInfo.InvariantCulture);

        AssertOnlyWorkloadsReach(Redis, port, Silo, Gateway);
    }

    [Fact]
    public void The_gateways_http_port_is_open_to_everyone_and_no_other_port_is()
    {
        var port = GatewayConfiguration(Assert.Single(KubernetesManifests.Workload(Gateway).Pod.Containers)).ListeningPort();
        var open = KubernetesManifests.Workloads()
            .SelectMany(w => w.Containers.SelectMany(c => c.Ports ?? []).Select(p => (w.Name, p.ContainerPort)))
            .Where(p => Peers(KubernetesManifests.Workload(p.Name), p.ContainerPort).Any(peer => peer is null))
            .ToList();

        Assert.Equal([(Gateway, port)], open);
    }

    [Fact]
    public void Only_the_monitoring_namespace_reaches_the_silos_metrics_port()
    {
        var port = SiloConfiguration(SiloContainer()).ListeningPort();
        var peer = Assert.Single(Peers(KubernetesManifests.Workload(Silo), port));

        Assert.NotNull(peer);
        Assert.Null(peer.PodSelector);
        Assert.Null(peer.IpBlock);
        Assert.Equal(new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "monitoring" }, peer.NamespaceSelector.MatchLabels);
    }

    [Fact]
    public void Only_the_monitoring_namespace_reaches_the_gateways_metrics_port()
    {
        var container = Assert.Single(KubernetesManifests.Workload(Gateway).Pod.Containers);
        var port = GatewayConfiguration(container).Bind<GatewayHostingOptions>(GatewayHostingOptions.Section).MetricsPort;
        Assert.NotNull(port);
        var peer = Assert.Single(Peers(KubernetesManifests.Workload(Gateway), port.Value));

        Assert.NotNull(peer);
        Assert.Null(peer.PodSelector);
        Assert.Equal(new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "monitoring" }, peer.NamespaceSelector.MatchLabels);
    }

    [Fact]
    public void Every_container_port_is_reachable_by_someone()
    {
        var ports = KubernetesManifests.Workloads().SelectMany(w => w.Containers.SelectMany(c => c.Ports ?? []).Select(p => (Workload: w, p.ContainerPort))).ToList();

        Assert.Equal(6, ports.Count);
        Assert.All(ports, p => Assert.True(Peers(p.Workload, p.ContainerPort).Count > 0, $"{p.Workload.Name}:{p.ContainerPort} is declared but every policy refuses it"));
    }

    [Fact]
    public void Every_selector_selects_the_pods_it_is_meant_for()
    {
        var workloads = KubernetesManifests.Workloads();
        int Selected(V1LabelSelector selector) => workloads.Count(w => selector.Selects(w.Labels));

        Assert.All(workloads, w =>
        {
            Assert.True(w.Selector.Selects(w.Labels), $"{w.Name}: its selector does not select its own pod template");
            Assert.True(Selected(w.Selector) == 1, $"{w.Name}: its selector also selects another workload's pods");
        });
        Assert.All(KubernetesManifests.All.OfType<V1Service>(), s =>
            Assert.True(Selected(new V1LabelSelector { MatchLabels = s.Spec.Selector }) == 1, $"Service {s.Metadata.Name} selects {Selected(new V1LabelSelector { MatchLabels = s.Spec.Selector })} workloads"));
        Assert.All(KubernetesManifests.All.OfType<V1PodDisruptionBudget>(), b =>
            Assert.True(Selected(b.Spec.Selector) == 1, $"PodDisruptionBudget {b.Metadata.Name} selects {Selected(b.Spec.Selector)} workloads"));
        Assert.All(KubernetesManifests.All.OfType<V1NetworkPolicy>(), p =>
        {
            Assert.True(Selected(p.Spec.PodSelector) > 0, $"NetworkPolicy {p.Metadata.Name} selects no pod");
            Assert.All(
                (p.Spec.Ingress ?? []).SelectMany(r => r.FromProperty ?? []).Where(peer => peer.PodSelector is not null && peer.NamespaceSelector is null),
                peer => Assert.True(Selected(peer.PodSelector) > 0, $"NetworkPolicy {p.Metadata.Name} allows pods that no workload runs"));
        });
        Assert.All(KubernetesManifests.All.OfType<V1StatefulSet>(), s =>
            Assert.Contains(KubernetesManifests.All.OfType<V1Service>(), service => service.Metadata.Name == s.Spec.ServiceName));
    }

    [Fact]
    public void Redis_asks_for_the_password_of_the_livestream_redis_secret()
    {
        var container = Assert.Single(KubernetesManifests.Workload(Redis).Pod.Containers);
        var args = KubernetesManifests.ExpandedArgs(container).ToList();
        var password = KubernetesManifests.SecretStandIn("livestream-redis", "password");
        var probe = string.Join(' ', container.ReadinessProbe.Exec.Command);

        Assert.Equal(password, args[args.IndexOf("--requirepass") + 1]);
        Assert.Equal("yes", args[args.IndexOf("--appendonly") + 1]);

        // The readiness probe authenticates, and an error reply (NOAUTH) fails it although redis-cli exits 0.
        Assert.Equal(password, KubernetesManifests.Environment(container)["REDISCLI_AUTH"]);
        Assert.Contains("redis-cli ping", probe, StringComparison.Ordinal);
        Assert.Contains("PONG", probe, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Silo)]
    [InlineData(Gateway)]
    public void Silos_and_gateways_connect_to_the_redis_service_with_its_password(string name)
    {
        var container = Assert.Single(KubernetesManifests.Workload(name).Pod.Containers);
        var configuration = name == Silo ? SiloConfiguration(container) : GatewayConfiguration(container);
        var options = ConfigurationOptions.Parse(configuration.GetConnectionString("Redis")!);
        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(options.EndPoints));
        var service = Assert.Single(KubernetesManifests.All.OfType<V1Service>(), s => s.Metadata.Name == Redis);

        Assert.Equal((service.Metadata.Name, service.Spec.Ports.Single().Port), (endpoint.Host, endpoint.Port));
        Assert.Equal(KubernetesManifests.SecretStandIn("livestream-redis", "password"), options.Password);
    }

    [Fact]
    public void Every_secret_the_workloads_use_is_generated_by_the_kustomization_from_a_file_that_is_never_committed()
    {
        var references = KubernetesManifests.Workloads()
            .SelectMany(w => w.Containers.SelectMany(c => c.Env ?? []))
            .Select(e => e.ValueFrom?.SecretKeyRef)
            .OfType<V1SecretKeySelector>()
            .Select(s => (s.Name, s.Key))
            .ToHashSet();
        var generators = KubernetesManifests.Kustomization.Get("secretGenerator").Items()
            .ToDictionary(g => g.Text("name"), g => g.Get("envs").Items().Single().Text());
        var ignored = File.ReadAllLines(Path.Combine(KubernetesManifests.Folder, "secrets", ".gitignore"));
        var operations = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "operations.md"));

        Assert.Equal(new HashSet<(string, string)> { ("livestream-admin", "token"), ("livestream-redis", "password") }, references);
        Assert.Empty(KubernetesManifests.All.OfType<V1Secret>());
        Assert.All(KubernetesManifests.Kustomization.Get("secretGenerator").Items(), g => Assert.Null(g.Find("literals")));
        Assert.Contains("*", ignored);
        Assert.Contains("!.gitignore", ignored);
        Assert.All(references, r =>
        {
            Assert.True(generators.TryGetValue(r.Name, out var file), $"Secret {r.Name} is neither generated nor listed");
            Assert.StartsWith("secrets/", file, StringComparison.Ordinal);
            Assert.True(
                Regex.IsMatch(operations, $@"printf '{r.Key}=%s\\n' .+ > deploy/k8s/{Regex.Escape(file)}"),
                $"docs/operations.md does not show how to write {r.Key}= into deploy/k8s/{file}");
        });

        // Nothing else reads a Secret or a ConfigMap, so nothing else would have to exist before the pods start.
        Assert.DoesNotContain(KubernetesManifests.Workloads().SelectMany(w => w.Containers.SelectMany(c => c.Env ?? [])), e => e.ValueFrom?.ConfigMapKeyRef is not null);
        Assert.Empty(KubernetesManifests.Workloads().SelectMany(w => w.Containers.SelectMany(c => c.EnvFrom ?? [])));
        Assert.DoesNotContain(KubernetesManifests.Workloads().SelectMany(w => w.Pod.Volumes ?? []), v => v.Secret is not null || v.ConfigMap is not null);
    }

    [Fact]
    public void The_gateway_manifest_shows_how_to_trust_an_ingress_for_forwarded_headers_and_trusts_nobody_by_default()
    {
        var container = Assert.Single(KubernetesManifests.Workload(Gateway).Pod.Containers);
        var example = CommentedEnvironment(Path.Combine(KubernetesManifests.Folder, "gateway.yaml"), "LiveStream__Ingest__TrustedProxies__");
        var environment = KubernetesManifests.Environment(container);
        var trusted = GatewayConfiguration(environment.Concat(example).ToDictionary()).Bind<IngestOptions>(IngestOptions.Section);
        var validation = new IngestOptionsValidator().Validate(null, trusted);

        Assert.NotEmpty(example);
        Assert.Empty(GatewayConfiguration(container).Bind<IngestOptions>(IngestOptions.Section).TrustedProxies);
        Assert.Equal(example.Values.OfType<string>(), trusted.TrustedProxies);
        Assert.True(validation.Succeeded, validation.FailureMessage);
    }

    [Fact]
    public void The_deploy_files_and_docs_say_a_stopping_silo_hands_its_sessions_off()
    {
        var files = KubernetesManifests.Files()
            .Append(Path.Combine(DeployFolder, "compose.yaml"))
            .Append(Path.Combine(RepoPaths.Root, "docs", "operations.md"));

        Assert.All(files, f => Assert.DoesNotMatch(@"silos?,? (which )?ends? (its|their) sessions", File.ReadAllText(f)));
        Assert.Contains("hands its live sessions off", File.ReadAllText(Path.Combine(KubernetesManifests.Folder, "silo.yaml")), StringComparison.Ordinal);
        Assert.Contains("hands its live sessions off", File.ReadAllText(Path.Combine(DeployFolder, "compose.yaml")), StringComparison.Ordinal);
    }

    /// <summary>Asserts that on this port the target admits the pods of these workloads of the namespace, and no one else.</summary>
    private static void AssertOnlyWorkloadsReach(string target, int port, params string[] clients)
    {
        var peers = Peers(KubernetesManifests.Workload(target), port);

        Assert.NotEmpty(peers);
        Assert.All(peers, p =>
        {
            Assert.True(p is not null, $"{target}:{port} is open to everyone");
            Assert.True(p.NamespaceSelector is null && p.IpBlock is null, $"{target}:{port} is open beyond the namespace's pods");
        });
        var admitted = KubernetesManifests.Workloads().Where(w => peers.Any(p => p!.PodSelector.Selects(w.Labels))).Select(w => w.Name);
        Assert.Equal(clients.ToHashSet(), admitted.ToHashSet());
    }

    /// <summary>
    /// The peers that the network policies selecting this workload admit on this TCP port; <c>null</c> for a rule
    /// without <c>from</c> (everyone). Empty: the port is refused.
    /// </summary>
    private static List<V1NetworkPolicyPeer?> Peers(Workload target, int port) =>
        KubernetesManifests.All.OfType<V1NetworkPolicy>()
            .Where(p => p.Spec.PolicyTypes.Contains("Ingress") && p.Spec.PodSelector.Selects(target.Labels))
            .SelectMany(p => p.Spec.Ingress ?? [])
            .Where(rule => rule.Ports is null || rule.Ports.Any(p => (p.Protocol ?? "TCP") == "TCP" && Covers(target, p, port)))
            .SelectMany(rule => rule.FromProperty is null or { Count: 0 } ? [null] : rule.FromProperty.Select(f => (V1NetworkPolicyPeer?)f))
            .ToList();

    private static bool Covers(Workload target, V1NetworkPolicyPort policyPort, int port)
    {
        if (policyPort.Port is null)
        {
            return true;
        }

        var first = int.TryParse(policyPort.Port.Value, out var number)
            ? number
            : target.Containers.SelectMany(c => c.Ports ?? []).SingleOrDefault(p => p.Name == policyPort.Port.Value)?.ContainerPort ?? -1;
        return port >= first && port <= (policyPort.EndPort ?? first);
    }

    private static TimeSpan PreStopSleep(Workload workload)
    {
        var sleep = Assert.Single(workload.Pod.Containers).Lifecycle?.PreStop?.Sleep;
        Assert.True(sleep is not null, $"{workload.Name}: no preStop sleep");
        return TimeSpan.FromSeconds(sleep.Seconds);
    }

    private static V1Container SiloContainer() => Assert.Single(KubernetesManifests.Workload(Silo).Pod.Containers);

    private static IConfiguration SiloConfiguration(V1Container container) =>
        ProcessConfiguration.For("Silo", WithImage("Dockerfile.silo", KubernetesManifests.Environment(container)));

    private static IConfiguration GatewayConfiguration(V1Container container) => GatewayConfiguration(KubernetesManifests.Environment(container));

    private static IConfiguration GatewayConfiguration(IReadOnlyDictionary<string, string?> environment) =>
        ProcessConfiguration.For("Gateway", WithImage("Dockerfile.gateway", environment));

    /// <summary>The image's variables, overridden by the container's.</summary>
    private static Dictionary<string, string?> WithImage(string dockerfile, IReadOnlyDictionary<string, string?> environment) =>
        Dockerfile.Load(Path.Combine(DeployFolder, dockerfile)).Runtime.Environment
            .Concat(environment).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>
    /// The variables of a commented-out example in a manifest (<c># - name: …</c> and its <c>#   value: …</c>
    /// lines) whose names start with this prefix, read as the YAML they become once uncommented.
    /// </summary>
    private static Dictionary<string, string?> CommentedEnvironment(string path, string prefix)
    {
        var lines = File.ReadAllLines(path).Select(l => l.TrimStart()).ToList();
        var start = lines.FindIndex(l => l.StartsWith($"# - name: {prefix}", StringComparison.Ordinal));
        Assert.True(start >= 0, $"{Path.GetFileName(path)} shows no commented example of {prefix}…");
        var yaml = string.Join('\n', lines.Skip(start).TakeWhile(l => l.StartsWith("# - ", StringComparison.Ordinal) || l.StartsWith("#   ", StringComparison.Ordinal)).Select(l => l[2..]));
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Single().RootNode.Items().ToDictionary(v => v.Text("name"), v => (string?)v.Text("value"));
    }
}

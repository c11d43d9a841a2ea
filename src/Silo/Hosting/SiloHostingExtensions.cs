using System.Net;
using LiveStream.Leases;
using LiveStream.Media;
using LiveStream.Options;
using LiveStream.Streams;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Hosting.Kubernetes;
using StackExchange.Redis;

using SessionOptions = LiveStream.Options.SessionOptions;

namespace LiveStream.Hosting;

/// <summary>Everything a silo needs: Orleans (localhost or Redis clustering), grain storage, FFmpeg, options, telemetry.</summary>
public static class SiloHostingExtensions
{
    /// <summary>
    /// The variable Kubernetes sets in every container. With Redis clustering, its presence turns on Orleans'
    /// Kubernetes hosting. It is read through configuration, which holds the environment, so tests can set it.
    /// </summary>
    public const string KubernetesServiceHostKey = "KUBERNETES_SERVICE_HOST";

    /// <summary>
    /// Hosts a LiveStream silo. Without <c>ConnectionStrings:Redis</c> it is the embedded default: localhost
    /// clustering, stream state in files under the data folder and failover state in memory. With it, Redis clustering and storage; the silo advertises
    /// <c>LiveStream:Cluster:AdvertisedAddress</c>, or, in a Kubernetes pod, its <c>POD_IP</c> through Orleans'
    /// Kubernetes hosting. Called once per process: by the silo program, or by the gateway of the embedded default.
    /// </summary>
    public static IHostApplicationBuilder AddLiveStreamSilo(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddLiveStreamSiloServices();
        builder.AddLiveStreamTelemetry();
        services.AddLiveStreamHealthChecks();

        var cluster = builder.Configuration.GetSection(ClusterHostingOptions.Section).Get<ClusterHostingOptions>() ?? new();
        var membership = builder.Configuration.GetSection(MembershipOptions.Section).Get<MembershipOptions>() ?? new();
        var redis = builder.Configuration.GetConnectionString("Redis");
        builder.UseOrleans(silo =>
        {
            silo.Services.AddOrleansSocketBlocks();
            if (cluster.InlineSocketScheduling)
            {
                silo.Services.AddOrleansInlineSends();
            }

            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            if (string.IsNullOrWhiteSpace(redis))
            {
                silo.UseLocalhostClustering(
                    cluster.SiloPort,
                    cluster.GatewayPort,
                    cluster.PrimarySiloPort == 0 ? null : new IPEndPoint(IPAddress.Loopback, cluster.PrimarySiloPort),
                    cluster.ServiceId,
                    cluster.ClusterId);
                silo.Services.AddGrainStorage(StorageNames.LiveStream, (sp, _) => new Storage.FileGrainStorage(
                    Path.Combine(sp.GetRequiredService<IOptions<LiveStreamOptions>>().Value.FullDataPath, Sessions.DataLayout.StateFolder),
                    sp.GetRequiredService<Orleans.Serialization.Serializer>(),
                    Storage.FileGrainStorage.DefaultIoConcurrency));
                silo.Services.AddGrainStorage(StorageNames.Failover, (sp, _) => new Storage.ProcessMemoryGrainStorage(
                    sp.GetRequiredService<Orleans.Serialization.DeepCopier>()));
            }
            else
            {
                if (!string.IsNullOrWhiteSpace(builder.Configuration[KubernetesServiceHostKey]))
                {
                    // Membership stays in Redis. Orleans' Kubernetes hosting names the silo after its pod and declares
                    // a silo dead when its pod is deleted. Its own fallback to POD_IP runs after Orleans has already
                    // picked an address of the machine, so the pod's address is set here.
                    silo.UseKubernetesHosting();
                    silo.ConfigureEndpoints(PodAddress(builder.Configuration, cluster), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                }
                else
                {
                    silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort, cluster.ListenOnAnyAddress);
                }

                silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
                silo.AddRedisGrainStorage(StorageNames.LiveStream, o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
                silo.AddRedisGrainStorage(StorageNames.Failover, o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            }

            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = membership.ProbeTimeout;
                o.NumMissedProbesLimit = membership.NumMissedProbesLimit;
                o.NumVotesForDeathDeclaration = membership.NumVotesForDeathDeclaration;
                o.TableRefreshTimeout = membership.TableRefreshTimeout;
            });
            if (TelemetryExtensions.TracesGrainCalls(builder.Configuration))
            {
                silo.AddActivityPropagation();
            }
        });
        return builder;
    }

    /// <summary>Admission by cost: the silo's ledger, the cluster view, its reporter and the placement that uses them.</summary>
    private static IServiceCollection AddLiveStreamAdmission(this IServiceCollection services)
    {
        services.AddOptions<AdmissionOptions>().BindConfiguration(AdmissionOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdmissionOptions>, AdmissionOptionsValidator>());
        services.AddSingleton<Capacity.SiloCapacity>();
        services.AddSingleton<Capacity.ClusterCapacityView>();
        services.AddHostedService<Capacity.CapacityReporter>();
        services.AddPlacementDirector<Capacity.CapacityPlacement, Capacity.CapacityPlacementDirector>();
        return services;
    }

    /// <summary>
    /// The silo's own services: options, sessions, the FFmpeg runner and its supervisor, admission, webhooks, leases.
    /// <see cref="AddLiveStreamSilo"/> calls it; tests that build their own silo call it instead.
    /// </summary>
    public static IServiceCollection AddLiveStreamSiloServices(this IServiceCollection services)
    {
        services.AddLiveStreamCoreOptions();
        services.AddOptions<FfmpegOptions>().BindConfiguration(FfmpegOptions.Section).ValidateOnStart();
        services.AddOptions<SessionOptions>().BindConfiguration(SessionOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FfmpegOptions>, FfmpegOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionOptions>, SessionOptionsValidator>());
        services.AddOptions<SimulcastOptions>().BindConfiguration(SimulcastOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulcastOptions>, SimulcastOptionsValidator>());
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Storage.RetentionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<Storage.RetentionSweeper>());
        services.TryAddSingleton<Telemetry.LiveStreamInstruments>();
        services.AddLiveStreamAdmission();

        // The supervisor is a hosted service registered before the silo, so it stops after the silo has
        // deactivated its grains (hosted services stop in reverse order) and kills whatever survived.
        services.AddSingleton<MediaProcessSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<MediaProcessSupervisor>());

        services.TryAddSingleton<IMediaProcessRunner, FfmpegProcessRunner>();
        services.TryAddSingleton<LeaseRenewals>();
        services.TryAddSingleton<Sessions.SessionServices>();
        services.TryAddSingleton<Capacity.ClusterPlacement>();
        services.TryAddSingleton<SimulcastContext>();
        services.AddLiveStreamWebhooks();

        services.AddOptions<LeaseOptions>().BindConfiguration(LeaseOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LeaseOptions>, LeaseOptionsValidator>());
        services.TryAddSingleton(sp => new RedisConnection(
            sp.GetRequiredService<IConfiguration>().GetConnectionString("Redis") ?? throw new InvalidOperationException("ConnectionStrings:Redis is not set.")));
        services.TryAddSingleton<ILeaseStore>(sp => sp.GetRequiredService<IConfiguration>().GetConnectionString("Redis") is { Length: > 0 }
            ? new RedisLeaseStore(sp.GetRequiredService<RedisConnection>())
            : new MemoryLeaseStore(sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>The pod's <c>POD_IP</c> (from the downward API), else <c>LiveStream:Cluster:AdvertisedAddress</c>.</summary>
    private static IPAddress PodAddress(IConfiguration configuration, ClusterHostingOptions cluster) =>
        configuration[KubernetesHostingOptions.PodIPEnvironmentVariable] is { Length: > 0 } podIp
            ? IPAddress.TryParse(podIp, out var address)
                ? address
                : throw new InvalidOperationException($"{KubernetesHostingOptions.PodIPEnvironmentVariable} must be an IP address (set it from the downward API: status.podIP).")
            : IPAddress.Parse(cluster.AdvertisedAddress);
}

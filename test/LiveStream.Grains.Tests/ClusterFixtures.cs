using Orleans.Runtime.Hosting;
using LiveStream.Hosting;
using LiveStream.Media;
using LiveStream.Streams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>Builds in-process test clusters with the LiveStream silo services.</summary>
public static class TestClusters
{
    public static InProcessTestCluster Build(
        string dataPath,
        IMediaProcessRunner? runner,
        int silos = 1,
        int bufferBytes = 256 * 1024,
        TimeProvider? time = null,
        IReadOnlyDictionary<string, string>? settings = null,
        TimeSpan? responseTimeout = null,
        StorageFaults? faults = null)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Configuration["LiveStream:DataPath"] = dataPath;
            host.Configuration["LiveStream:Session:TickInterval"] = "00:00:00.100";
            host.Configuration["LiveStream:Session:BufferBytes"] = bufferBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            host.Configuration["LiveStream:Ffmpeg:Preset"] = "ultrafast";
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                host.Configuration[key] = value;
            }

            if (runner is not null)
            {
                host.Services.AddSingleton(runner);
            }

            if (time is not null)
            {
                host.Services.AddSingleton(time);
            }

            if (FileLog.Directory is not null)
            {
                host.Logging.AddProvider(new FileLog());
            }

            host.Services.AddLiveStreamSiloServices();
            host.AddLiveStreamTelemetry();
        });
        builder.ConfigureSilo((_, silo) =>
        {
            // Stream records must outlive a killed silo when the test has Redis; otherwise memory is enough.
            if (faults is not null)
            {
                // Both stores on files, so a deactivated grain reads what was really written; writes fail on demand.
                silo.Services.AddGrainStorage(StorageNames.LiveStream, (sp, _) => FlakyGrainStorage.Create(sp, Path.Combine(dataPath, "state"), faults));
                silo.Services.AddGrainStorage(StorageNames.Failover, (sp, _) => FlakyGrainStorage.Create(sp, Path.Combine(dataPath, "failover"), faults));
            }
            else if (settings?.GetValueOrDefault("ConnectionStrings:Redis") is { } redis)
            {
                silo.AddRedisGrainStorage(StorageNames.LiveStream, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis));
                silo.AddRedisGrainStorage(StorageNames.Failover, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis));
            }
            else
            {
                silo.AddMemoryGrainStorage(StorageNames.LiveStream);
                silo.AddMemoryGrainStorage(StorageNames.Failover);
            }

            // Membership tuned for tests: a killed silo is declared dead in about two seconds.
            silo.Configure<Orleans.Configuration.ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            });
        });
        builder.ConfigureClient(client => client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout ?? TimeSpan.FromSeconds(30)));
        return builder.Build();
    }

    public static string NewDataPath() => Directory.CreateTempSubdirectory("livestream-grains-").FullName;
}

/// <summary>One cluster with a stand-in FFmpeg, shared by the grain tests.</summary>
public class FakeMediaClusterFixture : IAsyncLifetime
{
    public FakeMediaClusterFixture()
    {
    }

    /// <summary>A cluster whose grain storage (on files) fails writes on demand.</summary>
    protected FakeMediaClusterFixture(StorageFaults faults) => StorageFaults = faults;

    /// <summary>A cluster with settings of its own beside the shared ones.</summary>
    protected FakeMediaClusterFixture(IReadOnlyDictionary<string, string> settings) => Settings = settings;

    protected IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>();

    protected StorageFaults? StorageFaults { get; }

    public FakeMediaProcessRunner Runner { get; } = new();

    /// <summary>The silo's clock: reconnect windows expire when a test advances it.</summary>
    public Microsoft.Extensions.Time.Testing.FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public string DataPath { get; } = TestClusters.NewDataPath();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        // The tests move this clock by tens of seconds at once; a lease must not read that as a silo that was paused.
        var settings = new Dictionary<string, string>(Settings)
        {
            ["LiveStream:Lease:Ttl"] = "01:00:00",
            ["LiveStream:Lease:StopMargin"] = "00:00:01",
        };
        Cluster = TestClusters.Build(DataPath, Runner, time: Time, faults: StorageFaults, settings: settings);
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Directory.Delete(DataPath, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class FakeMediaCluster : ICollectionFixture<FakeMediaClusterFixture>
{
    public const string Name = "fake media cluster";
}

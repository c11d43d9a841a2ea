using LiveStream.Ingest;
using LiveStream.Streams;
using LiveStream.Testing;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>Records of ended sessions leave the stream's stored state once they pass <c>Retention:Days</c>.</summary>
public sealed class RetentionRecordTests : IAsyncLifetime
{
    private readonly string _dataPath = TestClusters.NewDataPath();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = TestClusters.Build(_dataPath, new FakeMediaProcessRunner(), time: _time, settings: new Dictionary<string, string>
        {
            ["LiveStream:Retention:Days"] = "7",
        });
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_ended_session_is_forgotten_after_retention_even_if_the_stream_is_never_used_again()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Null)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);

        _time.Advance(TimeSpan.FromDays(6));
        await _cluster.DeactivateAsync(grain);
        Assert.Single(await grain.ListSessionsAsync());

        _time.Advance(TimeSpan.FromDays(2));
        await _cluster.DeactivateAsync(grain);
        Assert.Empty(await grain.ListSessionsAsync());

        // Stored, not only in memory: a later activation reads the pruned record.
        await _cluster.DeactivateAsync(grain);
        Assert.Empty(await grain.ListSessionsAsync());
        Assert.NotNull(await grain.GetAsync());
    }
}

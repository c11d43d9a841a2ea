using LiveStream.Capacity;
using LiveStream.Ingest;
using LiveStream.Media.Containers;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;
using Orleans.Runtime.Placement;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>
/// Admission by cost on two silos of 4 units each. A new session with an FFmpeg output is admitted on the cost of a
/// passthrough (1 unit); once its media is known, a VP8 720p re-encode costs 4.
/// </summary>
public sealed class AdmissionTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _dataPath = TestClusters.NewDataPath();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = TestClusters.Build(_dataPath, new FakeMediaProcessRunner(), silos: 2, settings: new Dictionary<string, string>
        {
            ["LiveStream:Admission:CapacityUnits"] = "4",
            ["LiveStream:Admission:ReportInterval"] = "00:00:00.100",
        });
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_new_session_goes_to_a_silo_with_room_and_a_full_cluster_refuses_it_with_4503_until_units_are_freed()
    {
        var vp8 = MediaCapture.Load("vp8-opus").Chunks().Take(2).ToList();
        var (first, firstHash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls)]);
        var firstSession = await StreamFactory.ConnectAsync(first, firstHash);
        Assert.True(firstSession.Accepted);
        var fullSilo = (await first.GetSessionAsync(firstSession.SessionId!))!.Silo!;
        await WaitForLoadsAsync(loads => loads.Count == 2 && loads[fullSilo].UsedUnits == 1);
        await StreamFactory.WriteAllAsync(first, firstSession.Epoch, 0, vp8);
        await WaitForLoadsAsync(loads => loads[fullSilo].UsedUnits == 4);

        // A stream whose grain was activated on the full silo (by an API call, say) moves to the silo with room.
        var (second, secondHash) = await CreateOnAsync(fullSilo);
        var refused = await StreamFactory.ConnectAsync(second, secondHash);
        Assert.Equal((false, CloseCodes.ClusterUnavailable), (refused.Accepted, refused.CloseCode));
        Assert.NotNull(refused.RetryOnSilo);
        Assert.NotEqual(fullSilo, refused.RetryOnSilo);
        var secondSession = await second.ConnectPlacedAsync(Request(secondHash));
        Assert.True(secondSession.Accepted, secondSession.Reason);
        var otherSilo = (await second.GetSessionAsync(secondSession.SessionId!))!.Silo!;
        Assert.Equal(refused.RetryOnSilo, otherSilo);
        await StreamFactory.WriteAllAsync(second, secondSession.Epoch, 0, vp8);
        await WaitForLoadsAsync(loads => loads.Count == 2 && loads.Values.All(l => l.UsedUnits == 4));

        // No silo has a unit left: the cluster is full, and says so.
        var (third, thirdHash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls)]);
        var full = await third.ConnectPlacedAsync(Request(thirdHash));
        Assert.Equal((false, CloseCodes.ClusterUnavailable, null), (full.Accepted, full.CloseCode, full.RetryOnSilo));
        Assert.Contains("cluster at capacity", full.Reason, StringComparison.Ordinal);

        // A session without FFmpeg costs nothing and is never refused for capacity.
        var (archiveOnly, archiveHash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Archive)]);
        Assert.True((await archiveOnly.ConnectPlacedAsync(Request(archiveHash))).Accepted);

        // Ending a session gives its units back, and the waiting stream is admitted where they are.
        await first.DisconnectAsync(firstSession.Epoch, DisconnectKind.End, CloseCodes.Normal);
        await WaitForLoadsAsync(loads => loads[fullSilo].UsedUnits == 0);
        var admitted = await third.ConnectPlacedAsync(Request(thirdHash));
        Assert.True(admitted.Accepted, admitted.Reason);
        Assert.Equal(fullSilo, (await third.GetSessionAsync(admitted.SessionId!))!.Silo);
    }

    [Fact]
    public void A_session_costs_what_its_media_and_outputs_cost()
    {
        TrackInfo Video(string codec, int width, int height) => new(1, TrackKind.Video, codec, [], width, height);
        var opus = new TrackInfo(2, TrackKind.Audio, "opus", []);
        OutputSpec[] hls = [new OutputSpec(OutputType.Hls)];

        Assert.Equal(0, SessionCost.Of([new OutputSpec(OutputType.Null), new OutputSpec(OutputType.Archive)], null));
        Assert.Equal(1, SessionCost.Reserve(hls));
        Assert.Equal(4, SessionCost.Of(hls, null));
        Assert.Equal(1, SessionCost.Of(hls, [Video("h264", 1280, 720), opus]));
        Assert.Equal(1, SessionCost.Of(hls, [opus]));
        Assert.Equal(4, SessionCost.Of(hls, [Video("vp8", 1280, 720), opus]));
        Assert.Equal(9, SessionCost.Of(hls, [Video("vp9", 1920, 1080), opus]));
        Assert.Equal(2, SessionCost.Of(hls, [Video("vp8", 640, 360), opus]));
        Assert.Equal(4, SessionCost.Of(hls, [Video("vp8", 0, 0), opus]));

        // HLS and RTMP each encode; each RTMP target adds its relay.
        OutputSpec[] simulcast = [new OutputSpec(OutputType.Hls), new OutputSpec(OutputType.Rtmp, "rtmp://a/app/k"), new OutputSpec(OutputType.Rtmp, "rtmp://b/app/k")];
        Assert.Equal((4 * 2) + 2, SessionCost.Of(simulcast, [Video("vp8", 1280, 720), opus]));
        Assert.Equal(2 + 2, SessionCost.Of(simulcast, [Video("h264", 1280, 720), opus]));
        Assert.Equal(2 + 2, SessionCost.Reserve(simulcast));
    }

    [Theory]
    [InlineData("vp8-opus")]
    [InlineData("h264-opus-mkv")]
    [InlineData("fmp4-avc1-opus")]
    public void The_container_reader_reports_the_captures_video_size(string name)
    {
        var reader = new ContainerReader(new Media.NullSink());
        foreach (var chunk in MediaCapture.Load(name).Chunks().Take(3))
        {
            reader.Push(chunk.Span);
        }

        var video = Assert.Single(reader.Tracks, t => t.Kind == TrackKind.Video);
        Assert.Equal((1280, 720), (video.Width, video.Height));
    }

    private static ConnectRequest Request(byte[] hash) => new(hash, IngestProtocol.V1, "test-gateway", Guid.NewGuid().ToString("N"), null);

    private async Task<(IStreamGrain Grain, byte[] Hash)> CreateOnAsync(string silo)
    {
        RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(silo));
        try
        {
            return await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls)]);
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }
    }

    /// <summary>Waits until every silo's view of the cluster's loads satisfies <paramref name="condition"/>.</summary>
    private Task WaitForLoadsAsync(Func<IReadOnlyDictionary<string, SiloLoad>, bool> condition) =>
        Eventually.HoldsAsync(
            () => _cluster.Silos.All(s => condition(s.ServiceProvider.GetRequiredService<ClusterCapacityView>().Loads)),
            Wait,
            "every silo's view of the loads");
}

using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>A target with a restart limit is marked failed after it, and the rest of the session goes on.</summary>
public sealed class SimulcastFailedTargetTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly FakeMediaProcessRunner _runner = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly string _dataPath = TestClusters.NewDataPath();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = TestClusters.Build(_dataPath, _runner, time: _time, settings: new Dictionary<string, string> { ["LiveStream:Simulcast:MaxRelayRestarts"] = "1" });
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_target_is_failed_after_its_last_allowed_restart_and_the_encoder_and_other_target_go_on()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [
            new OutputSpec(OutputType.Rtmp, "rtmp://a.example/live/key-a"),
            new OutputSpec(OutputType.Rtmp, "rtmp://b.example/live/key-b"),
        ]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().Take(2));
        var sessionId = session.SessionId!;
        await Eventually.HoldsAsync(() => _runner.RelaysFor(sessionId, 0).Count == 1 && _runner.RelaysFor(sessionId, 1).Count == 1, Timeout, "a relay per target");

        _runner.RelaysFor(sessionId, 0)[0].Crash(1, "rtmp://a.example/live/key-a: Connection refused");
        await Eventually.HoldsAsync(
            () =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(250));
                return _runner.RelaysFor(sessionId, 0).Count == 2;
            },
            Timeout,
            "the one allowed restart");
        _runner.RelaysFor(sessionId, 0)[1].Crash(1, "rtmp://a.example/live/key-a: Connection refused");

        var status = await Eventually.ReturnsAsync(() => grain.GetSessionAsync(sessionId), s => s!.Outputs![0].State == OutputState.Failed, Timeout, "target A to be failed");
        Assert.Equal(2, status!.Outputs![0].Restarts);
        Assert.Equal("rtmp://a.example/live/[redacted]: Connection refused", status.Outputs[0].LastError);
        Assert.Equal(OutputState.Starting, status.Outputs[1].State);
        Assert.Equal(SessionState.Active, status.State);
        Assert.False(_runner.For(sessionId)[0].Exited.IsCompleted);

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(2, _runner.RelaysFor(sessionId, 0).Count);
        await grain.StopSessionAsync(sessionId);
    }
}

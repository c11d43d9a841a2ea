using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Testing;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>
/// A silo that stalls past its lease (a paused process, a starved machine) on a fake clock, with the default lease
/// settings: its session is fenced off and picked up again, and the new FFmpeg shows in the session's status.
/// </summary>
public sealed class LeaseLapseTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly FakeMediaProcessRunner _runner = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly string _dataPath = TestClusters.NewDataPath();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = TestClusters.Build(_dataPath, _runner, time: _time);
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_session_picked_up_again_after_its_lease_lapsed_counts_its_new_ffmpeg_as_a_restart()
    {
        var chunks = MediaCapture.Load("audio-only-opus").Chunks().ToList();
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var committed = await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, chunks.Take(4));
        var first = Assert.Single(_runner.For(session.SessionId!));
        var before = (await grain.GetSessionAsync(session.SessionId!))!;
        Assert.Equal((first.Id, 0), (before.Ffmpeg.Pid, before.Ffmpeg.Restarts));

        // The silo stalls for longer than its lease lets it act: the session fences itself off and kills its FFmpeg.
        _time.Advance(TimeSpan.FromSeconds(5));
        await Eventually.HoldsAsync(() => first.Exited.IsCompleted, Timeout, "the fenced-off FFmpeg to stop");

        // The publisher's next chunk (same epoch) picks the session up again, with a new FFmpeg.
        var result = await Eventually.ReturnsAsync(
            () => grain.WriteAsync(new ChunkWrite(session.Epoch, committed, chunks[4])).AsTask(),
            r => r.Outcome == WriteOutcome.Committed,
            Timeout,
            "the session to be picked up again");
        await StreamFactory.WriteAllAsync(grain, session.Epoch, result!.Committed, chunks.Skip(5));

        var status = (await grain.GetSessionAsync(session.SessionId!))!;
        var processes = _runner.For(session.SessionId!);
        Assert.Equal(2, processes.Count);
        Assert.Equal((SessionState.Active, processes[1].Id, 1), (status.State, status.Ffmpeg.Pid, status.Ffmpeg.Restarts));

        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        var ended = (await grain.GetSessionAsync(session.SessionId!))!;
        Assert.Equal((SessionState.Ended, 1), (ended.State, ended.Ffmpeg.Restarts));
    }
}

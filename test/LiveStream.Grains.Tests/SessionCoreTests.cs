using LiveStream.Capacity;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>A cluster whose storage fails on demand, with a fake clock and a stand-in FFmpeg that can fail to launch.</summary>
public sealed class FaultyClusterFixture() : FakeMediaClusterFixture(new StorageFaults())
{
    public StorageFaults Faults => StorageFaults!;

    public SiloCapacity Capacity => Cluster.Silos[0].ServiceProvider.GetRequiredService<SiloCapacity>();
}

/// <summary>The session core's defects, each shown fixed: stranded sessions, acks past durability, half-applied commits, resurrected ends.</summary>
public sealed class SessionCoreTests(FaultyClusterFixture fixture) : IClassFixture<FaultyClusterFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private IGrainFactory Grains => fixture.Client;

    public void Dispose()
    {
        fixture.Faults.Failing = false;
        fixture.Faults.Gate?.TrySetResult();
        fixture.Faults.Gate = null;
        fixture.Faults.StateNames.Clear();
        Interlocked.Exchange(ref fixture.Runner.FailingStarts, 0);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_session_whose_gateway_went_silent_leaves_active_and_ends_after_its_window_releasing_everything()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, reconnectWindowSeconds: 10);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().First()));
        var process = Assert.Single(fixture.Runner.For(session.SessionId!));
        var streamId = grain.GetPrimaryKeyString();
        Assert.True(fixture.Capacity.Holds(streamId));

        // The gateway is killed: no write, no disconnect ever comes.
        var waiting = await AdvanceUntilAsync(grain, session.SessionId!, s => s.State == SessionState.Disconnected, "the silent publisher to be noticed");
        // Its FFmpeg still runs while the window is open (the status was read while the session was disconnected).
        Assert.Equal((SessionState.Disconnected, process.Id), (waiting.State, waiting.Ffmpeg.Pid));

        var ended = await AdvanceUntilAsync(grain, session.SessionId!, s => s.State == SessionState.Ended, "the reconnect window to expire");
        Assert.Equal("reconnect window expired", ended.EndReason);
        Assert.True(process.StopRequested);
        Assert.False(fixture.Capacity.Holds(streamId));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_acknowledgement_never_covers_bytes_the_failover_record_does_not_hold()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var chunks = MediaCapture.Load("audio-only-opus").Chunks().Take(3).ToList();
        var acked = (await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, chunks[0]))).Committed;

        fixture.Faults.StateNames.Add("live");
        fixture.Faults.Failing = true;
        var refused = await grain.WriteAsync(new ChunkWrite(session.Epoch, acked, chunks[1]));

        // Committed here, not durable: the gateway is told to wait and send it again.
        Assert.Equal((WriteOutcome.BufferFull, acked), (refused.Outcome, refused.Committed));

        fixture.Faults.Failing = false;
        var resent = await grain.WriteAsync(new ChunkWrite(session.Epoch, acked, chunks[1]));
        Assert.Equal((WriteOutcome.Committed, acked + chunks[1].Length), (resent.Outcome, resent.Committed));
        var archive = await File.ReadAllBytesAsync(DataLayout.ArchivePath(fixture.DataPath, session.SessionId!));
        Assert.Equal([.. chunks[0].ToArray(), .. chunks[1].ToArray()], archive);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_publisher_that_reconnects_is_told_to_resume_where_the_committed_bytes_end_never_before()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var chunks = MediaCapture.Load("audio-only-opus").Chunks().Take(2).ToList();
        var acked = (await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, chunks[0]))).Committed;

        // A chunk is committed but its offset not stored; then the tab is closed.
        fixture.Faults.StateNames.Add("live");
        fixture.Faults.Failing = true;
        Assert.Equal(WriteOutcome.BufferFull, (await grain.WriteAsync(new ChunkWrite(session.Epoch, acked, chunks[1]))).Outcome);
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.Dropped, 1006);

        // While the store refuses, a new tab is asked to retry: an offset before the committed bytes' end would make
        // its new recording's first bytes look like a resend of the old one's.
        var refused = await StreamFactory.ConnectAsync(grain, hash);
        Assert.Equal((false, CloseCodes.ClusterUnavailable), (refused.Accepted, refused.CloseCode));

        fixture.Faults.Failing = false;
        var resumed = await StreamFactory.ConnectAsync(grain, hash);
        Assert.Equal((true, session.SessionId, acked + chunks[1].Length), (resumed.Accepted, resumed.SessionId, resumed.ResumeFrom));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failed_ffmpeg_launch_keeps_the_commit_and_is_retried_with_backoff_within_the_budget()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var capture = MediaCapture.Load("audio-only-opus");
        Interlocked.Exchange(ref fixture.Runner.FailingStarts, 2);

        var committed = await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, capture.Chunks().Take(4));

        // Every byte is acknowledged and archived once, whether or not FFmpeg could start meanwhile.
        Assert.Equal(capture.Chunks().Take(4).Sum(c => (long)c.Length), committed);
        var status = await AdvanceUntilAsync(grain, session.SessionId!, s => s.Ffmpeg.Pid is not null, "FFmpeg to start after its failed launches");
        Assert.Equal(2, status.Ffmpeg.Restarts);
        Assert.Equal(SessionState.Active, status.State);
        var process = Assert.Single(fixture.Runner.For(session.SessionId!));
        var archive = await File.ReadAllBytesAsync(DataLayout.ArchivePath(fixture.DataPath, session.SessionId!));
        Assert.Equal(capture.Bytes.AsSpan(0, (int)committed).ToArray(), archive);
        await Eventually.HoldsAsync(() => process.Received.Length > 0, Timeout, "the new FFmpeg to be fed");
    }

    [Fact(Timeout = 60_000)]
    public async Task An_end_the_store_refused_is_retried_and_a_later_activation_never_starts_ffmpeg_for_it()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().First()));
        var process = Assert.Single(fixture.Runner.For(session.SessionId!));

        fixture.Faults.StateNames.UnionWith(["live", "stream"]);
        fixture.Faults.Failing = true;
        var failedBefore = Volatile.Read(ref fixture.Faults.FailedWrites);
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, 1000);
        Assert.True(process.StopRequested);
        Assert.True(Volatile.Read(ref fixture.Faults.FailedWrites) > failedBefore);

        // The store comes back; the grain stores the end by itself, then may be collected.
        var (live, stream) = (fixture.Faults.WritesOf("live"), fixture.Faults.WritesOf("stream"));
        fixture.Faults.Failing = false;
        await Eventually.HoldsAsync(
            () =>
            {
                fixture.Time.Advance(TimeSpan.FromMilliseconds(100));
                return fixture.Faults.WritesOf("live") > live && fixture.Faults.WritesOf("stream") > stream;
            },
            Timeout,
            "the end to be stored");
        var management = Grains.GetGrain<IManagementGrain>(0);
        await Eventually.ReturnsAsync(
            async () =>
            {
                await management.ForceActivationCollection(TimeSpan.Zero);
                return await management.GetActiveGrains(GrainType.Create("livestream.stream"));
            },
            active => !active.Contains(grain.GetGrainId()),
            Timeout,
            "the stream's grain to be collected");

        var after = (await grain.GetSessionAsync(session.SessionId!))!;
        Assert.Equal(SessionState.Ended, after.State);
        Assert.Single(fixture.Runner.For(session.SessionId!));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_session_shown_as_ended_while_its_end_is_being_stored_shows_no_live_figures()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().First()));
        Assert.NotNull((await grain.GetSessionAsync(session.SessionId!))!.Health);

        // A slow store: the end is being stored while status reads (which interleave) already see it ended.
        fixture.Faults.StateNames.Add("live");
        fixture.Faults.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ending = grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        var ended = await Eventually.ReturnsAsync(() => grain.GetSessionAsync(session.SessionId!), s => s!.State == SessionState.Ended, Timeout, "the session to show ended");
        Assert.False(ending.IsCompleted);

        Assert.Equal((null, null, null, null), (ended!.Health, ended.Outputs, ended.Silo, ended.Ffmpeg.Pid));
        fixture.Faults.Gate.TrySetResult();
        await ending;
    }

    private async Task<SessionStatus> AdvanceUntilAsync(IStreamGrain grain, string sessionId, Func<SessionStatus, bool> done, string what) =>
        (await Eventually.ReturnsAsync(
            () =>
            {
                fixture.Time.Advance(TimeSpan.FromMilliseconds(500));
                return grain.GetSessionAsync(sessionId);
            },
            s => s is not null && done(s),
            Timeout,
            what))!;
}

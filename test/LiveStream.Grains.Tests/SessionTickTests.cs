using System.Collections.Concurrent;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;
using Orleans.Runtime.Diagnostics;

namespace LiveStream.Grains.Tests;

/// <summary>
/// The session tick backs off while nothing changes, and still acts on time. The cluster ticks every 100 ms of its
/// (fake) clock while something is pending and every <c>IdleTickInterval</c> (5 s) otherwise; the clock only moves
/// when a test moves it.
/// </summary>
[Collection(FakeMediaCluster.Name)]
public sealed class SessionTickTests(FakeMediaClusterFixture fixture) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan PublisherTimeout = TimeSpan.FromSeconds(20);

    private readonly TickCounter _ticks = new();

    private IGrainFactory Grains => fixture.Client;

    [Fact(Timeout = 60_000)]
    public async Task An_idle_live_session_ticks_a_few_times_in_fifteen_seconds_not_every_tick_interval()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().First()));
        var before = _ticks.Of(grain);

        // 150 tick intervals of nothing: the publisher is connected and quiet, FFmpeg runs, nothing is pending.
        await AdvanceAsync(grain, TimeSpan.FromSeconds(15));

        var ticks = _ticks.Of(grain) - before;
        Assert.InRange(ticks, 1, 5);
        Assert.Equal(SessionState.Active, (await grain.GetSessionAsync(session.SessionId!))!.State);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_silent_publisher_is_still_noticed_when_its_timeout_runs_out_between_idle_ticks()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var chunks = MediaCapture.Load("audio-only-opus").Chunks().Take(2).ToList();
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, chunks[0]));

        // The last word from the publisher comes off the idle ticks' beat: its timeout ends between two of them.
        await AdvanceAsync(grain, TimeSpan.FromMilliseconds(2300));
        await grain.WriteAsync(new ChunkWrite(session.Epoch, chunks[0].Length, chunks[1]));
        await AdvanceAsync(grain, PublisherTimeout - Step);
        Assert.Equal(SessionState.Active, (await grain.GetSessionAsync(session.SessionId!))!.State);

        var silent = await AdvanceUntilAsync(grain, session.SessionId!, s => s.State == SessionState.Disconnected, TimeSpan.FromMilliseconds(500));

        Assert.NotNull(silent.DisconnectedAt);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_reconnect_window_that_ends_between_idle_ticks_still_ends_on_time()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, reconnectWindowSeconds: 7);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().First()));
        await AdvanceAsync(grain, TimeSpan.FromMilliseconds(1300));

        await grain.DisconnectAsync(session.Epoch, DisconnectKind.Dropped, 1006);
        await AdvanceAsync(grain, TimeSpan.FromSeconds(7) - Step);
        Assert.Equal(SessionState.Disconnected, (await grain.GetSessionAsync(session.SessionId!))!.State);

        var ended = await AdvanceUntilAsync(grain, session.SessionId!, s => s.State == SessionState.Ended, TimeSpan.FromMilliseconds(500));

        Assert.Equal("reconnect window expired", ended.EndReason);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_killed_ffmpeg_of_an_idle_session_is_replaced_without_waiting_for_the_next_tick()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().First()));
        await AdvanceAsync(grain, TimeSpan.FromSeconds(1));
        var killed = Assert.Single(fixture.Runner.For(session.SessionId!));

        killed.Crash(exitCode: 137, lastError: "Killed");

        // The clock stands still: only the exit itself can wake the session.
        await Eventually.HoldsAsync(() => fixture.Runner.For(session.SessionId!).Count == 2, Timeout, "a new FFmpeg");
        var status = await Eventually.ReturnsAsync(() => grain.GetSessionAsync(session.SessionId!), s => s!.Ffmpeg.Restarts == 1, Timeout, "the restart to show");
        Assert.Equal((SessionState.Active, fixture.Runner.For(session.SessionId!)[^1].Id), (status!.State, status.Ffmpeg.Pid));
    }

    public void Dispose() => _ticks.Dispose();

    /// <summary>Moves the silo's clock on in tick-interval steps, letting the grain keep up with each.</summary>
    private async Task AdvanceAsync(IStreamGrain grain, TimeSpan span)
    {
        for (var moved = TimeSpan.Zero; moved < span; moved += Step)
        {
            fixture.Time.Advance(Step);
            await grain.GetAsync();
        }
    }

    /// <summary>Moves the clock on until <paramref name="done"/> holds, within <paramref name="within"/> of fake time.</summary>
    private async Task<SessionStatus> AdvanceUntilAsync(IStreamGrain grain, string sessionId, Func<SessionStatus, bool> done, TimeSpan within)
    {
        for (var moved = TimeSpan.Zero; moved <= within; moved += Step)
        {
            fixture.Time.Advance(Step);

            // The tick runs after the clock moved, as a turn of its own: give it real time to run.
            var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds(200);
            do
            {
                var status = (await grain.GetSessionAsync(sessionId))!;
                if (done(status))
                {
                    return status;
                }

                await Task.Delay(10);
            }
            while (DateTime.UtcNow < deadline);
        }

        throw new Xunit.Sdk.XunitException($"not done within {within.TotalMilliseconds} ms of the silo's clock");
    }

    /// <summary>Counts the grain timer ticks of each grain, from Orleans' timer diagnostics.</summary>
    private sealed class TickCounter : IObserver<GrainTimerEvents.TimerEvent>, IDisposable
    {
        private readonly ConcurrentDictionary<GrainId, int> _ticks = new();
        private readonly IDisposable _subscription;

        public TickCounter() => _subscription = GrainTimerEvents.AllEvents.Subscribe(this);

        public int Of(IStreamGrain grain) => _ticks.GetValueOrDefault(grain.GetGrainId());

        public void OnNext(GrainTimerEvents.TimerEvent value)
        {
            if (value is GrainTimerEvents.TickStart)
            {
                _ticks.AddOrUpdate(value.GrainContext.GrainId, 1, (_, n) => n + 1);
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void Dispose() => _subscription.Dispose();
    }
}

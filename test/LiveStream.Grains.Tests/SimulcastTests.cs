using LiveStream.Ingest;
using LiveStream.Media;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;

namespace LiveStream.Grains.Tests;

/// <summary>
/// Simulcast with stand-in processes: one encoder for every RTMP target, one relay per target, each relay
/// supervised on its own (backoff, rejoin at a keyframe, backlog dropped when it falls behind).
/// </summary>
[Collection(FakeMediaCluster.Name)]
public sealed class SimulcastTests(FakeMediaClusterFixture fixture)
{
    private const string KeyA = "sk_live_alpha_secret";
    private const string KeyB = "sk_live_bravo_secret";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly MediaCapture Audio = MediaCapture.Load("audio-only-opus");

    private FakeMediaProcessRunner Runner => fixture.Runner;

    [Fact(Timeout = 30_000)]
    public async Task Two_rtmp_targets_share_one_encoder_and_each_relay_joins_at_a_keyframe_with_the_stream_header()
    {
        var (grain, sessionId, encoder) = await StartAsync();

        await encoder.WriteStdoutAsync(FlvWriter.Start());
        await encoder.WriteStdoutAsync(FlvWriter.Frame(0));       // before any keyframe: no relay can start here
        await encoder.WriteStdoutAsync(FlvWriter.Keyframe(40));
        await encoder.WriteStdoutAsync(FlvWriter.Frame(80));

        Assert.Single(Runner.For(sessionId));
        foreach (var index in new[] { 1, 2 })
        {
            var relay = Assert.Single(Runner.RelaysFor(sessionId, index));
            byte[] expected = [.. FlvWriter.Start(), .. FlvWriter.Keyframe(40), .. FlvWriter.Frame(80)];
            await Eventually.HoldsAsync(() => relay.Received.Length == expected.Length, Timeout, $"relay {index} to read the stream");
            Assert.Equal(expected, relay.Received);
        }

        var status = (await grain.GetSessionAsync(sessionId))!;
        Assert.Equal([OutputType.Hls, OutputType.Rtmp, OutputType.Rtmp], status.Outputs!.Select(o => o.Type));
        Assert.All(status.Outputs!.Skip(1), o => Assert.Equal(OutputState.Starting, o.State));

        Runner.RelaysFor(sessionId, 1)[0].GoLive();
        status = (await grain.GetSessionAsync(sessionId))!;
        Assert.Equal(OutputState.Live, status.Outputs![1].State);
        Assert.Equal(Runner.RelaysFor(sessionId, 1)[0].Id, status.Outputs[1].Pid);
        Assert.Equal(OutputState.Starting, status.Outputs[2].State);
        Assert.Equal(OutputState.Live, status.Outputs[0].State);
        Assert.Equal("rtmp://a.example/live/" + SecretRedactor.Mask, status.Outputs[1].Url);
        Assert.DoesNotContain(KeyA, status.ToString(), StringComparison.Ordinal);

        await grain.StopSessionAsync(sessionId);
        Assert.All(Runner.RelaysFor(sessionId, 1).Concat(Runner.RelaysFor(sessionId, 2)), r => Assert.True(r.Exited.IsCompleted));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_relay_that_exits_is_retried_after_a_backoff_from_the_next_keyframe_and_nothing_else_is_touched()
    {
        var (grain, sessionId, encoder, first, other) = await StartWithBothTargetsLiveAsync();

        first.Crash(1, $"rtmp://a.example/live/{KeyA}: Connection refused");
        var status = await Eventually.ReturnsAsync(
            () => grain.GetSessionAsync(sessionId),
            s => s!.Outputs![1].State == OutputState.Retrying,
            Timeout,
            "target 1 to be retrying");
        var target = status!.Outputs![1];
        Assert.Equal(1, target.Restarts);
        Assert.Null(target.Pid);
        Assert.Equal($"rtmp://a.example/live/{SecretRedactor.Mask}: Connection refused", target.LastError);
        Assert.Equal(OutputState.Live, status.Outputs[2].State);
        Assert.Single(Runner.RelaysFor(sessionId, 1));

        // Nothing restarts before the backoff (1 s on the silo's clock); the encoder and the other target go on.
        await encoder.WriteStdoutAsync(FlvWriter.Frame(40));
        await Eventually.HoldsAsync(() => FlvWriter.Contains(other.Received, FlvWriter.Frame(40)), Timeout, "the other relay to keep reading");
        Assert.Single(Runner.RelaysFor(sessionId, 1));
        Assert.False(encoder.Exited.IsCompleted);

        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.HoldsAsync(() => Runner.RelaysFor(sessionId, 1).Count == 2, Timeout, "a new relay for target 1");
        var second = Runner.RelaysFor(sessionId, 1)[1];
        await encoder.WriteStdoutAsync([.. FlvWriter.Frame(80), .. FlvWriter.Keyframe(120), .. FlvWriter.Frame(160)]);

        byte[] expected = [.. FlvWriter.Start(), .. FlvWriter.Keyframe(120), .. FlvWriter.Frame(160)];
        await Eventually.HoldsAsync(() => second.Received.Length == expected.Length, Timeout, "the new relay to join at the keyframe");
        Assert.Equal(expected, second.Received);
        second.GoLive();
        status = await grain.GetSessionAsync(sessionId);
        Assert.Equal(OutputState.Live, status!.Outputs![1].State);
        Assert.Equal(second.Id, status.Outputs[1].Pid);
        Assert.Same(other, Assert.Single(Runner.RelaysFor(sessionId, 2)));
        Assert.Single(Runner.For(sessionId));

        await grain.StopSessionAsync(sessionId);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_relay_whose_process_ended_its_input_while_the_encoder_writes_on_takes_nothing_else_down()
    {
        // The CI run of 4d53460: target A's receiver was killed, its relay's process ended (and with it the relay's
        // input) while the fan-out still offered it the encoder's next tag; the offer threw into the fan-out, which
        // ended the encoder, whose restart cut target B off too.
        var (grain, sessionId, encoder, first, other) = await StartWithBothTargetsLiveAsync();
        var disposal = first.HoldDisposal();

        first.Crash(1, "Input/output error");
        await Eventually.HoldsAsync(() => first.Disposed, Timeout, "the relay to dispose of its exited process");
        await encoder.WriteStdoutAsync([.. FlvWriter.Frame(40), .. FlvWriter.Keyframe(80)]);
        await Eventually.HoldsAsync(() => FlvWriter.Contains(other.Received, FlvWriter.Keyframe(80)), Timeout, "the other relay to keep reading");

        Assert.False(encoder.StdoutRead.IsCompleted, encoder.StdoutRead.Exception?.ToString());
        Assert.False(encoder.Exited.IsCompleted);
        Assert.Single(Runner.For(sessionId));
        disposal.SetResult();
        var status = await Eventually.ReturnsAsync(
            () => grain.GetSessionAsync(sessionId),
            s => s!.Outputs![1].State == OutputState.Retrying,
            Timeout,
            "target 1 to be retrying");
        Assert.Equal(OutputState.Live, status!.Outputs![2].State);
        Assert.Equal(OutputState.Live, status.Outputs[0].State);

        await grain.StopSessionAsync(sessionId);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_relay_that_falls_a_buffer_behind_drops_its_backlog_and_rejoins_at_a_keyframe_without_stalling_the_encoder()
    {
        var (grain, sessionId, encoder) = await StartAsync();
        await encoder.WriteStdoutAsync([.. FlvWriter.Start(), .. FlvWriter.Keyframe(0)]);
        var slow = Runner.RelaysFor(sessionId, 1)[0];
        var other = Runner.RelaysFor(sessionId, 2)[0];
        await Eventually.HoldsAsync(() => slow.Received.Length > 0, Timeout, "the slow relay to read the stream's start");
        slow.Stall();

        // More than the relay's buffer (4 MiB by default) while it reads nothing; the encoder's stdout is still read.
        for (var i = 1; i <= 6; i++)
        {
            await encoder.WriteStdoutAsync(FlvWriter.Frame(i * 40, payload: 1024 * 1024));
        }

        var marker = FlvWriter.Keyframe(1000);
        await encoder.WriteStdoutAsync([.. marker, .. FlvWriter.Frame(1040)]);
        await Eventually.HoldsAsync(() => FlvWriter.Contains(other.Received, FlvWriter.Frame(1040)), Timeout, "the other relay to read everything");

        slow.Resume();
        await Eventually.HoldsAsync(() => FlvWriter.Contains(slow.Received, FlvWriter.Frame(1040)), Timeout, "the slow relay to rejoin");
        Assert.True(slow.Received.Length < other.Received.Length, "the slow relay skipped its backlog");
        Assert.Same(slow, Assert.Single(Runner.RelaysFor(sessionId, 1)));
        Assert.Equal(1, FlvWriter.IndexOf(slow.Received, FlvWriter.Header()) + 1);
        Assert.False(encoder.Exited.IsCompleted);

        await grain.StopSessionAsync(sessionId);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_new_encoder_after_a_crash_feeds_the_same_targets_through_new_relays_without_using_their_retries()
    {
        var (grain, sessionId, encoder) = await StartAsync();
        await encoder.WriteStdoutAsync([.. FlvWriter.Start(), .. FlvWriter.Keyframe(0)]);
        var firstRelay = Runner.RelaysFor(sessionId, 1)[0];

        encoder.Crash(1, "boom");
        // The session's timer runs on the silo's (fake) clock: move it along while waiting.
        await Eventually.HoldsAsync(
            () =>
            {
                fixture.Time.Advance(TimeSpan.FromMilliseconds(100));
                return Runner.For(sessionId).Count == 2;
            },
            Timeout,
            "a new encoder");
        var next = Runner.For(sessionId)[1];
        await next.WriteStdoutAsync(FlvWriter.Start());

        await Eventually.HoldsAsync(() => Runner.RelaysFor(sessionId, 1).Count == 2, Timeout, "a relay for the new encoder's stream");
        Assert.True(firstRelay.Exited.IsCompleted);
        var relay = Runner.RelaysFor(sessionId, 1)[1];
        await next.WriteStdoutAsync(FlvWriter.Keyframe(40));
        byte[] expected = [.. FlvWriter.Start(), .. FlvWriter.Keyframe(40)];
        await Eventually.HoldsAsync(() => relay.Received.Length == expected.Length, Timeout, "the new relay to read the new stream");
        Assert.Equal(expected, relay.Received);
        var target = (await grain.GetSessionAsync(sessionId))!.Outputs![1];
        Assert.Equal(0, target.Restarts);
        Assert.Null(target.LastError);

        await grain.StopSessionAsync(sessionId);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(5, 16)]
    [InlineData(6, 30)]
    [InlineData(60, 30)]
    public void Relay_backoff_doubles_from_one_second_up_to_the_maximum(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RtmpRelay.Backoff(failures, TimeSpan.FromSeconds(30)));

    /// <summary>A session whose encoder wrote the stream's start and a keyframe, and both relays live.</summary>
    private async Task<(IStreamGrain Grain, string SessionId, FakeMediaProcess Encoder, FakeMediaProcess First, FakeMediaProcess Other)> StartWithBothTargetsLiveAsync()
    {
        var (grain, sessionId, encoder) = await StartAsync();
        await encoder.WriteStdoutAsync([.. FlvWriter.Start(), .. FlvWriter.Keyframe(0)]);
        var first = Runner.RelaysFor(sessionId, 1)[0];
        var other = Runner.RelaysFor(sessionId, 2)[0];
        first.GoLive();
        other.GoLive();
        return (grain, sessionId, encoder, first, other);
    }

    private async Task<(IStreamGrain Grain, string SessionId, FakeMediaProcess Encoder)> StartAsync()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(fixture.Client, [
            new OutputSpec(OutputType.Hls, Record: true),
            new OutputSpec(OutputType.Rtmp, $"rtmp://a.example/live/{KeyA}"),
            new OutputSpec(OutputType.Rtmp, $"rtmps://b.example:443/app/{KeyB}"),
        ]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, Audio.Chunks().Take(2));
        var sessionId = session.SessionId!;
        var encoder = Assert.Single(Runner.For(sessionId));
        await Eventually.HoldsAsync(() => Runner.RelaysFor(sessionId, 1).Count == 1 && Runner.RelaysFor(sessionId, 2).Count == 1, Timeout, "a relay per target");
        return (grain, sessionId, encoder);
    }
}

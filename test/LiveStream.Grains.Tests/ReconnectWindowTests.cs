using System.Security.Cryptography;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;

namespace LiveStream.Grains.Tests;

[Collection(FakeMediaCluster.Name)]
public sealed class ReconnectWindowTests(FakeMediaClusterFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private IGrainFactory Grains => fixture.Client;

    [Fact(Timeout = 30_000)]
    public async Task A_dropped_publisher_opens_the_window_and_a_reconnect_resumes_the_same_process()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var first = await StreamFactory.ConnectAsync(grain, hash);
        var bytes = MediaCapture.Load("audio-only-opus").Bytes[..20_000];
        await grain.WriteAsync(new ChunkWrite(first.Epoch, 0, bytes.AsMemory(0, 12_000)));

        await grain.DisconnectAsync(first.Epoch, DisconnectKind.Dropped, 1006);

        var waiting = (await grain.GetSessionAsync(first.SessionId!))!;
        Assert.Equal(SessionState.Disconnected, waiting.State);
        Assert.Equal(fixture.Time.GetUtcNow(), waiting.DisconnectedAt);
        Assert.Equal(StreamState.Disconnected, (await grain.GetAsync())!.State);
        var process = Assert.Single(fixture.Runner.For(first.SessionId!));
        Assert.False(process.StopRequested);

        fixture.Time.Advance(TimeSpan.FromSeconds(29));
        var again = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(again.Epoch, 10_000, bytes.AsMemory(10_000)));

        Assert.Equal(first.SessionId, again.SessionId);
        Assert.Equal(12_000, again.ResumeFrom);
        Assert.Equal(first.Epoch + 1, again.Epoch);
        var resumed = (await grain.GetSessionAsync(first.SessionId!))!;
        Assert.Equal((SessionState.Active, 1, process.Id), (resumed.State, resumed.Reconnects, resumed.Ffmpeg.Pid));
        Assert.Single(fixture.Runner.For(first.SessionId!));
        var whole = Media.WholeElements.Of(bytes);
        await Eventually.HoldsAsync(() => process.Received.Length == whole.Length, Timeout, "every whole element to reach the process");
        Assert.Equal(whole, process.Received);
    }

    [Fact(Timeout = 30_000)]
    public async Task When_the_window_expires_the_session_ends_gracefully()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, reconnectWindowSeconds: 5);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        await grain.WriteAsync(new ChunkWrite(session.Epoch, 0, MediaCapture.Load("audio-only-opus").Chunks().First()));
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.Dropped, 1001);
        var process = Assert.Single(fixture.Runner.For(session.SessionId!));

        fixture.Time.Advance(TimeSpan.FromSeconds(5));

        var ended = await Eventually.ReturnsAsync(
            () =>
            {
                fixture.Time.Advance(TimeSpan.FromMilliseconds(100));
                return grain.GetSessionAsync(session.SessionId!);
            },
            s => s!.State == SessionState.Ended,
            Timeout,
            "the window to expire");
        Assert.Equal("reconnect window expired", ended!.EndReason);
        Assert.True(process.StopRequested);
        Assert.False(process.Killed);
        var next = await StreamFactory.ConnectAsync(grain, hash);
        Assert.NotEqual(session.SessionId, next.SessionId);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_window_of_zero_ends_the_session_on_any_drop()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, reconnectWindowSeconds: 0);
        var session = await StreamFactory.ConnectAsync(grain, hash);

        await grain.DisconnectAsync(session.Epoch, DisconnectKind.Dropped, 1006);

        Assert.Equal(SessionState.Ended, (await grain.GetSessionAsync(session.SessionId!))!.State);
    }

    [Fact(Timeout = 30_000)]
    public async Task Hello_carries_the_streams_own_reconnect_window()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains, reconnectWindowSeconds: 120);

        var session = await StreamFactory.ConnectAsync(grain, hash);

        Assert.Equal(120, session.ReconnectWindowSeconds);
    }

    [Fact(Timeout = 30_000)]
    public async Task Takeover_tells_the_older_publisher_to_close_with_4409_even_when_it_is_idle()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(Grains);
        var observer = new RecordingObserver();
        var reference = fixture.Client.CreateObjectReference<IPublisherObserver>(observer);
        var older = await StreamFactory.ConnectAsync(grain, hash, reference);

        var newer = await StreamFactory.ConnectAsync(grain, hash);

        var close = await observer.NextCloseAsync(Timeout);
        Assert.Equal((older.Epoch, CloseCodes.Superseded), (close.Epoch, close.Code));
        Assert.Equal(newer.SessionId, older.SessionId);

        // The close names the owner that asks for it: the one that accepted both connections.
        Assert.True(older.Owner > 0);
        Assert.Equal((older.Owner, older.Owner), (newer.Owner, close.Owner));
        GC.KeepAlive(observer);
    }
}

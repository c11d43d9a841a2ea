using System.Net.WebSockets;
using LiveStream.Gateway.Ingest;
using LiveStream.Ingest;
using LiveStream.Testing;
using Microsoft.Extensions.Time.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// The gateway's idle clock: one timer for the idle check of every connection. A connection that has waited
/// <c>IdleTimeout</c> for a message is closed with 4408; one that keeps sending is not; a connection that ends leaves
/// the clock, which then stops. The connections and the clock run on a fake time the test moves, so a stalled
/// machine cannot make the sending connection look idle.
/// </summary>
public sealed class IdleWatchTests
{
    [Fact(Timeout = 30_000)]
    public async Task An_idle_connection_is_closed_with_4408_while_one_that_sends_stays_open_on_the_same_clock()
    {
        var time = new FakeTimeProvider();
        var options = IngestConnectionHarness.Options(TimeSpan.FromMinutes(5));
        options.IdleTimeout = TimeSpan.FromSeconds(1);
        using var watch = new IdleWatch(Microsoft.Extensions.Options.Options.Create(options), time);
        await using var idle = await IngestConnectionHarness.StartAsync(new CommittingGrain(), options, "idle", watch, time: time);
        await using var busy = await IngestConnectionHarness.StartAsync(new CommittingGrain(), options, "busy", watch, time: time);
        Assert.Equal(2, watch.Count);

        // The busy publisher sends every 200 ms (of the test's clock) for three idle timeouts; the idle one sends
        // nothing. Each ack is read before the clock moves, so the busy connection is waiting on a fresh message.
        var closing = idle.Client.ReceiveAsync(new byte[256], CancellationToken.None);
        long offset = 0;
        for (var i = 0; i < 15; i++)
        {
            await busy.SendAsync(offset, 100, i);
            offset += 100;
            Assert.Contains($"\"offset\":{offset}", await busy.ReceiveTextAsync(), StringComparison.Ordinal);
            if (i < 4)
            {
                // Under the idle timeout on the test's clock: the silent connection is still open.
                Assert.False(closing.IsCompleted);
            }

            time.Advance(TimeSpan.FromMilliseconds(200));
        }

        var close = await closing.WaitAsync(IngestConnectionHarness.Timeout);
        Assert.Equal(WebSocketMessageType.Close, close.MessageType);
        Assert.Equal(CloseCodes.Idle, (int)idle.Client.CloseStatus!.Value);
        await idle.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        Assert.Equal(CloseCodes.Idle, await idle.Server.WaitAsync(IngestConnectionHarness.Timeout));

        Assert.False(busy.Server.IsCompleted);
        Assert.Equal(WebSocketState.Open, busy.Client.State);
        Assert.Equal(1, watch.Count);
    }

    private sealed class CommittingGrain : StandInStreamGrain
    {
        public override ValueTask<WriteResult> WriteAsync(ChunkWrite write) =>
            ValueTask.FromResult(new WriteResult(WriteOutcome.Committed, write.Offset + write.Data.Length));
    }
}

using System.Net.WebSockets;
using LiveStream.Ingest;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// A silo paused while it owned a session, and resumed after the session was picked up elsewhere, closes the
/// session on its side ("lease lost") and asks the publisher's connection to close with 1012. The connection's
/// writes are answered by the new owner by then, with a larger fencing token: the stale owner's close must not cut
/// the connection the session now goes on with. Seen once in CI: the publisher was closed after the failover had
/// already acknowledged its chunk. A new owner is also given the connection's observer, so that its own closes come
/// at once; that call never holds up a write or an ack.
/// </summary>
public sealed class StaleOwnerCloseTests : IAsyncLifetime
{
    private const int Epoch = 1;
    private readonly MovedGrain _grain = new();
    private IngestConnectionHarness _connection = null!;

    public async Task InitializeAsync() =>
        _connection = await IngestConnectionHarness.StartAsync(_grain, IngestConnectionHarness.Options(TimeSpan.FromSeconds(5)), "moved", owner: 7);

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    [Fact(Timeout = 30_000)]
    public async Task A_close_from_an_owner_the_session_has_left_is_ignored_and_one_from_the_current_owner_is_not()
    {
        // The session moved: its new owner (token 8) answers the connection's write.
        await _connection.SendAsync(0, 1000, seed: 1);
        Assert.Contains("\"offset\":1000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);

        // The old owner (token 7) resumes and asks for a close: the connection goes on.
        await _connection.Connection.CloseAsync(Epoch, CloseCodes.GatewayRestarting, "session moved; reconnect", owner: 7);
        await _connection.SendAsync(1000, 1000, seed: 2);
        Assert.Contains("\"offset\":2000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);

        // The current owner's close is obeyed.
        await _connection.Connection.CloseAsync(Epoch, CloseCodes.Superseded, "superseded", owner: 8);
        var buffer = new byte[1024];
        var result = await _connection.Client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(IngestConnectionHarness.Timeout);
        Assert.Equal((WebSocketMessageType.Close, (WebSocketCloseStatus?)CloseCodes.Superseded), (result.MessageType, result.CloseStatus));
    }

    [Fact(Timeout = 30_000)]
    public async Task The_new_owner_is_told_once_which_observer_serves_the_connection()
    {
        var observer = new NoObserver();
        _connection.Connection.Observer = observer;

        // The session moved: the first answer from its new owner (token 8) makes the connection attach to it, once.
        await _connection.SendAsync(0, 1000, seed: 1);
        Assert.Contains("\"offset\":1000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
        await _connection.SendAsync(1000, 1000, seed: 2);
        Assert.Contains("\"offset\":2000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);

        var attach = Assert.Single(_grain.Attached);
        Assert.Equal(Epoch, attach.Epoch);
        Assert.Same(observer, attach.Observer);
    }

    [Fact(Timeout = 30_000)]
    public async Task An_attach_the_new_owner_does_not_answer_holds_up_no_write_and_no_ack()
    {
        // The new owner does not answer the attach until the end of the test (within a write attempt's timeout).
        var held = new TaskCompletionSource();
        var grain = new MovedGrain { HeldAttach = held.Task };
        await using var connection = await IngestConnectionHarness.StartAsync(grain, IngestConnectionHarness.Options(TimeSpan.FromMinutes(5)), "held", owner: 7);
        connection.Connection.Observer = new NoObserver();

        for (var i = 0; i < 3; i++)
        {
            await connection.SendAsync(i * 1000, 1000, seed: i);
            Assert.Contains($"\"offset\":{(i + 1) * 1000}", await connection.ReceiveTextAsync(), StringComparison.Ordinal);
        }

        Assert.Single(grain.Attached);
        held.SetResult();
    }

    private sealed class NoObserver : IPublisherObserver
    {
        public Task CloseAsync(int epoch, int closeCode, string reason, long owner) => Task.CompletedTask;
    }

    /// <summary>Commits every write and answers as the session's new owner.</summary>
    private sealed class MovedGrain : StandInStreamGrain
    {
        private long _committed;

        public System.Collections.Concurrent.ConcurrentQueue<(int Epoch, IPublisherObserver Observer)> Attached { get; } = new();

        /// <summary>The answer to the attach call: at once unless set (a silo slow to answer, or gone too).</summary>
        public Task? HeldAttach { get; init; }

        public override Task AttachAsync(int epoch, IPublisherObserver observer)
        {
            Attached.Enqueue((epoch, observer));
            return HeldAttach ?? Task.CompletedTask;
        }

        public override ValueTask<WriteResult> WriteAsync(ChunkWrite write)
        {
            _committed = Math.Max(_committed, write.Offset + write.Data.Length);
            return ValueTask.FromResult(new WriteResult(WriteOutcome.Committed, _committed, Owner: 8));
        }
    }
}

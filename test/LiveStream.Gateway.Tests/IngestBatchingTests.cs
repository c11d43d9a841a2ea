using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// Fewer, larger hops: messages that arrive while a grain call is under way go to the grain together, in one call per
/// run of contiguous bytes; a message that finds no call under way goes at once. The real connection runs on a real
/// server WebSocket over in-memory pipes, against a stand-in grain that holds its writes on demand.
/// </summary>
public sealed class IngestBatchingTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = IngestConnectionHarness.Timeout;

    private readonly HoldingGrain _grain = new();
    private IngestConnectionHarness _connection = null!;

    // A held write is never abandoned and tried again: each call the grain sees is one the connection made once.
    public async Task InitializeAsync() =>
        _connection = await IngestConnectionHarness.StartAsync(_grain, IngestConnectionHarness.Options(TimeSpan.FromMinutes(5)), "batching");

    public async Task DisposeAsync()
    {
        _grain.Release();
        await _connection.DisposeAsync();
    }

    [Fact(Timeout = 30_000)]
    public async Task A_message_that_finds_no_call_under_way_goes_to_the_grain_at_once_and_alone()
    {
        await _connection.SendAsync(0, 1000, seed: 1);

        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the chunk to reach the grain");
        Assert.Equal((0L, 1000), (_grain.Writes.Single().Offset, _grain.Writes.Single().Bytes.Length));
        Assert.Equal(IngestConnectionHarness.Payload(1000, 1), _grain.Writes.Single().Bytes);
        Assert.Contains("\"offset\":1000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Messages_that_arrive_during_a_grain_call_go_in_one_call_per_run_of_contiguous_bytes()
    {
        _grain.Hold();
        await _connection.SendAsync(0, 1000, seed: 1);
        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the first chunk's call to be under way");

        // Three chunks that continue the first, then a resend that overlaps them (a client that went back after a
        // reconnect it thought it needed): all arrive while the first call is held.
        await _connection.SendAsync(1000, 1000, seed: 2);
        await _connection.SendAsync(2000, 1000, seed: 3);
        await _connection.SendAsync(3000, 1000, seed: 4);
        await _connection.SendAsync(2500, 1000, seed: 5);
        _grain.Release();

        await Eventually.HoldsAsync(() => _grain.Writes.Count == 3, Timeout, "the held chunks to reach the grain");
        var writes = _grain.Writes.ToArray();
        Assert.Equal([(0L, 1000), (1000L, 3000), (2500L, 1000)], writes.Select(w => (w.Offset, w.Bytes.Length)));
        Assert.Equal([.. IngestConnectionHarness.Payload(1000, 2), .. IngestConnectionHarness.Payload(1000, 3), .. IngestConnectionHarness.Payload(1000, 4)], writes[1].Bytes);
        Assert.Equal(IngestConnectionHarness.Payload(1000, 5), writes[2].Bytes);
        Assert.Contains("\"offset\":1000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":4000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_run_longer_than_a_mebibyte_goes_in_calls_of_at_most_a_mebibyte_each_so_a_session_buffer_holds_no_more()
    {
        // A receive buffer larger than a mebibyte (an operator's choice), so that a batch can hold more than a run.
        await _connection.DisposeAsync();
        var options = IngestConnectionHarness.Options(TimeSpan.FromMinutes(5));
        options.ReceiveBufferBytes = 2 * 1024 * 1024;
        _connection = await IngestConnectionHarness.StartAsync(_grain, options, "batching");
        _grain.Hold();
        await _connection.SendAsync(0, 1000, seed: 1);
        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the first chunk's call to be under way");

        // 80 contiguous 15-kB chunks (1.2 MB; the 70th would take one run past 1 MiB) arrive while the first call is
        // held and join runs.
        const int Piece = 15_000;
        for (var i = 0; i < 80; i++)
        {
            await _connection.SendAsync(1000 + ((long)i * Piece), Piece, seed: 10 + i);
        }

        _grain.Release();
        await Eventually.HoldsAsync(() => _grain.Writes.Sum(w => (long)w.Bytes.Length) == 1000 + (80L * Piece), Timeout, "every chunk to reach the grain");
        var writes = _grain.Writes.ToArray();
        Assert.True(writes.Length >= 3, $"{writes.Length} calls");
        Assert.All(writes, w => Assert.InRange(w.Bytes.Length, 1, 1024 * 1024));
        AssertContiguous(writes);
        Assert.Equal(Enumerable.Range(0, 80).SelectMany(i => IngestConnectionHarness.Payload(Piece, 10 + i)), writes.Skip(1).SelectMany(w => w.Bytes));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_batch_takes_only_what_fits_in_the_receive_buffer_and_never_grows_it()
    {
        _grain.Hold();
        await _connection.SendAsync(0, 1000, seed: 1);
        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the first chunk's call to be under way");

        // Ten 30-kB chunks wait while the first call is held. The 64 KiB receive buffer holds two of them: a batch
        // (a backlog at a slow silo) must not turn each connection's buffer into a mebibyte copied at every doubling.
        const int Piece = 30_000;
        for (var i = 0; i < 10; i++)
        {
            await _connection.SendAsync(1000 + ((long)i * Piece), Piece, seed: 10 + i);
        }

        _grain.Release();
        await Eventually.HoldsAsync(() => _grain.Writes.Sum(w => (long)w.Bytes.Length) == 1000 + (10L * Piece), Timeout, "every chunk to reach the grain");
        var writes = _grain.Writes.ToArray();
        Assert.Equal([1000, .. Enumerable.Repeat(2 * Piece, 5)], writes.Select(w => w.Bytes.Length));
        AssertContiguous(writes);
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(i => IngestConnectionHarness.Payload(Piece, 10 + i)), writes.Skip(1).SelectMany(w => w.Bytes));
    }

    private static void AssertContiguous((long Offset, byte[] Bytes)[] writes)
    {
        var offset = 0L;
        foreach (var write in writes)
        {
            Assert.Equal(offset, write.Offset);
            offset += write.Bytes.Length;
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_write_the_session_takes_only_part_of_goes_on_from_the_committed_offset_and_each_commit_is_acknowledged()
    {
        _grain.Takes = 400;
        await _connection.SendAsync(0, 1000, seed: 1);

        Assert.Contains("\"offset\":400", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":800", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":1000", await _connection.ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Equal([(0L, 1000), (400L, 600), (800L, 200)], _grain.Writes.Select(w => (w.Offset, w.Bytes.Length)));
        Assert.Equal(IngestConnectionHarness.Payload(1000, 1).AsSpan(400).ToArray(), _grain.Writes.ElementAt(1).Bytes);
    }

    [Fact(Timeout = 30_000)]
    public async Task An_end_message_behind_a_batch_ends_the_session_once_the_batch_is_committed()
    {
        _grain.Hold();
        await _connection.SendAsync(0, 1000, seed: 1);
        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the first chunk's call to be under way");
        await _connection.SendAsync(1000, 500, seed: 2);
        await _connection.Client.SendAsync(Encoding.UTF8.GetBytes("{\"type\":\"end\"}"), WebSocketMessageType.Text, true, CancellationToken.None);
        _grain.Release();

        Assert.Equal(1000, await _connection.Server.WaitAsync(Timeout));
        Assert.Equal([(0L, 1000), (1000L, 500)], _grain.Writes.Select(w => (w.Offset, w.Bytes.Length)));
        Assert.Equal(DisconnectKind.End, _grain.Disconnected);
    }

    /// <summary>A stream grain that commits what it is given, holding its writes while a test asks it to.</summary>
    private sealed class HoldingGrain : StandInStreamGrain
    {
        private readonly object _lock = new();
        private TaskCompletionSource _open = CompletedGate();
        private long _committed;

        public ConcurrentQueue<(long Offset, byte[] Bytes)> Writes { get; } = new();

        public DisconnectKind? Disconnected { get; private set; }

        /// <summary>The most bytes one call commits.</summary>
        public int Takes { get; set; } = int.MaxValue;

        public void Hold()
        {
            lock (_lock)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void Release()
        {
            lock (_lock)
            {
                _open.TrySetResult();
            }
        }

        public override async ValueTask<WriteResult> WriteAsync(ChunkWrite write)
        {
            // The connection may reuse its buffer once the call returns: keep a copy, as a silo does.
            Writes.Enqueue((write.Offset, write.Data.Memory.ToArray()));
            Task gate;
            lock (_lock)
            {
                gate = _open.Task;
            }

            await gate;
            if (write.Offset > _committed)
            {
                return new WriteResult(WriteOutcome.Gap, _committed, CloseCodes.ProtocolViolation, "gap");
            }

            // Like a session whose buffer has room for only part of the write: it takes what fits.
            _committed = Math.Max(_committed, Math.Min(write.Offset + write.Data.Length, write.Offset + Takes));
            return new WriteResult(WriteOutcome.Committed, _committed);
        }

        public override Task DisconnectAsync(int epoch, DisconnectKind kind, int closeCode)
        {
            Disconnected = kind;
            return Task.CompletedTask;
        }

        private static TaskCompletionSource CompletedGate()
        {
            var gate = new TaskCompletionSource();
            gate.SetResult();
            return gate;
        }
    }
}

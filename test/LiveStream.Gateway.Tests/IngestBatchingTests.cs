using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using LiveStream.Gateway.Ingest;
using LiveStream.Gateway.Options;
using LiveStream.Gateway.Telemetry;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// Fewer, larger hops: messages that arrive while a grain call is under way go to the grain together, in one call per
/// run of contiguous bytes; a message that finds no call under way goes at once. The real connection runs on a real
/// server WebSocket over in-memory pipes, against a stand-in grain that holds its writes on demand.
/// </summary>
public sealed class IngestBatchingTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // Room for everything a test sends while a call is held: the client's sends must not wait for the server to read.
    private readonly Pipe _toServer = new(new PipeOptions(pauseWriterThreshold: 8 * 1024 * 1024, resumeWriterThreshold: 4 * 1024 * 1024));
    private readonly Pipe _toClient = new();
    private readonly HoldingGrain _grain = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private WebSocket _client = null!;
    private Task<int> _server = null!;

    public async Task InitializeAsync()
    {
        var serverSocket = WebSocket.CreateFromStream(
            new DuplexStream(_toServer.Reader.AsStream(), _toClient.Writer.AsStream()),
            new WebSocketCreationOptions { IsServer = true, SubProtocol = IngestEndpoint.SubprotocolV1, KeepAliveInterval = TimeSpan.Zero });
        _client = WebSocket.CreateFromStream(
            new DuplexStream(_toClient.Reader.AsStream(), _toServer.Writer.AsStream()),
            new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        // A held write is never abandoned and tried again: each call the grain sees is one the connection made once.
        var options = new IngestOptions
        {
            MaxBitsPerSecond = long.MaxValue,
            IdleTimeout = TimeSpan.FromHours(1),
            WriteAttemptTimeout = TimeSpan.FromMinutes(5),
            WriteRetryTimeout = TimeSpan.FromMinutes(5),
        };
        var connection = new IngestConnection(
            serverSocket, _grain, IngestProtocol.V1, options, TimeProvider.System, new GatewayInstruments(_services.GetRequiredService<IMeterFactory>()), NullLogger.Instance);
        _server = connection.RunAsync(new ConnectResult(true, 0, null, "batching", 1, 0, 30, null), CancellationToken.None);
        Assert.Contains("\"hello\"", await ReceiveTextAsync(), StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        _grain.Release();
        _client.Abort();
        _toServer.Writer.Complete();
        _toClient.Writer.Complete();
        await Task.WhenAny(_server, Task.Delay(Timeout));
        _services.Dispose();
    }

    [Fact(Timeout = 30_000)]
    public async Task A_message_that_finds_no_call_under_way_goes_to_the_grain_at_once_and_alone()
    {
        await SendAsync(0, 1000, seed: 1);

        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the chunk to reach the grain");
        Assert.Equal((0L, 1000), (_grain.Writes.Single().Offset, _grain.Writes.Single().Bytes.Length));
        Assert.Equal(Payload(1000, 1), _grain.Writes.Single().Bytes);
        Assert.Contains("\"offset\":1000", await ReceiveTextAsync(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Messages_that_arrive_during_a_grain_call_go_in_one_call_per_run_of_contiguous_bytes()
    {
        _grain.Hold();
        await SendAsync(0, 1000, seed: 1);
        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the first chunk's call to be under way");

        // Three chunks that continue the first, then a resend that overlaps them (a client that went back after a
        // reconnect it thought it needed): all arrive while the first call is held.
        await SendAsync(1000, 1000, seed: 2);
        await SendAsync(2000, 1000, seed: 3);
        await SendAsync(3000, 1000, seed: 4);
        await SendAsync(2500, 1000, seed: 5);
        _grain.Release();

        await Eventually.HoldsAsync(() => _grain.Writes.Count == 3, Timeout, "the held chunks to reach the grain");
        var writes = _grain.Writes.ToArray();
        Assert.Equal([(0L, 1000), (1000L, 3000), (2500L, 1000)], writes.Select(w => (w.Offset, w.Bytes.Length)));
        Assert.Equal([.. Payload(1000, 2), .. Payload(1000, 3), .. Payload(1000, 4)], writes[1].Bytes);
        Assert.Equal(Payload(1000, 5), writes[2].Bytes);
        Assert.Contains("\"offset\":1000", await ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":4000", await ReceiveTextAsync(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_run_longer_than_a_mebibyte_goes_in_calls_of_at_most_a_mebibyte_each_so_a_session_buffer_holds_no_more()
    {
        _grain.Hold();
        await SendAsync(0, 1000, seed: 1);
        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the first chunk's call to be under way");

        // 20 contiguous 60-kB chunks (1.2 MB; the 18th would take one run past 1 MiB) arrive while the first call is held.
        const int Piece = 60_000;
        for (var i = 0; i < 20; i++)
        {
            await SendAsync(1000 + ((long)i * Piece), Piece, seed: 10 + i);
        }

        _grain.Release();
        await Eventually.HoldsAsync(() => _grain.Writes.Sum(w => (long)w.Bytes.Length) == 1000 + (20L * Piece), Timeout, "every chunk to reach the grain");
        var writes = _grain.Writes.ToArray();
        Assert.True(writes.Length >= 3, $"{writes.Length} calls");
        Assert.All(writes, w => Assert.InRange(w.Bytes.Length, 1, 1024 * 1024));
        var offset = 0L;
        foreach (var write in writes)
        {
            Assert.Equal(offset, write.Offset);
            offset += write.Bytes.Length;
        }

        Assert.Equal(Enumerable.Range(0, 20).SelectMany(i => Payload(Piece, 10 + i)), writes.Skip(1).SelectMany(w => w.Bytes));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_write_the_session_takes_only_part_of_goes_on_from_the_committed_offset_and_each_commit_is_acknowledged()
    {
        _grain.Takes = 400;
        await SendAsync(0, 1000, seed: 1);

        Assert.Contains("\"offset\":400", await ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":800", await ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Contains("\"offset\":1000", await ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Equal([(0L, 1000), (400L, 600), (800L, 200)], _grain.Writes.Select(w => (w.Offset, w.Bytes.Length)));
        Assert.Equal(Payload(1000, 1).AsSpan(400).ToArray(), _grain.Writes.ElementAt(1).Bytes);
    }

    [Fact(Timeout = 30_000)]
    public async Task An_end_message_behind_a_batch_ends_the_session_once_the_batch_is_committed()
    {
        _grain.Hold();
        await SendAsync(0, 1000, seed: 1);
        await Eventually.HoldsAsync(() => _grain.Writes.Count == 1, Timeout, "the first chunk's call to be under way");
        await SendAsync(1000, 500, seed: 2);
        await _client.SendAsync(Encoding.UTF8.GetBytes("{\"type\":\"end\"}"), WebSocketMessageType.Text, true, CancellationToken.None);
        _grain.Release();

        Assert.Equal(1000, await _server.WaitAsync(Timeout));
        Assert.Equal([(0L, 1000), (1000L, 500)], _grain.Writes.Select(w => (w.Offset, w.Bytes.Length)));
        Assert.Equal(DisconnectKind.End, _grain.Disconnected);
    }

    private static byte[] Payload(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private async Task SendAsync(long offset, int length, int seed)
    {
        var message = new byte[8 + length];
        BinaryPrimitives.WriteInt64BigEndian(message, offset);
        Payload(length, seed).CopyTo(message, 8);
        await _client.SendAsync(message, WebSocketMessageType.Binary, true, CancellationToken.None);
    }

    private async Task<string> ReceiveTextAsync()
    {
        var buffer = new byte[4096];
        var result = await _client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
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

        public override async Task<WriteResult> WriteAsync(ChunkWrite write)
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

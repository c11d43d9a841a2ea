using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using LiveStream.Gateway.Ingest;
using LiveStream.Gateway.Options;
using LiveStream.Gateway.Telemetry;
using LiveStream.Ingest;
using LiveStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// A write attempt the connection gave up on (it timed out, and was sent again) may still be under way, and Orleans
/// reads a call's payload only when it sends it (in the embedded default, the grain reads it in place). Its payload
/// must still be the bytes it was made with then, not those of later messages received into a reused buffer:
/// otherwise the late attempt commits wrong bytes at its offset and the resend, overlapping, is trimmed away.
/// Found by the load benchmark: under overload an archive differed from what was sent.
/// </summary>
public sealed class AbandonedWriteTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Pipe _toServer = new(new PipeOptions(pauseWriterThreshold: 8 * 1024 * 1024, resumeWriterThreshold: 4 * 1024 * 1024));
    private readonly Pipe _toClient = new();
    private readonly LateReadingGrain _grain = new();
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
        var options = new IngestOptions
        {
            MaxBitsPerSecond = long.MaxValue,
            IdleTimeout = TimeSpan.FromHours(1),
            WriteAttemptTimeout = TimeSpan.FromMilliseconds(200),
            WriteRetryTimeout = TimeSpan.FromMinutes(5),
        };
        var connection = new IngestConnection(
            serverSocket, _grain, IngestProtocol.V1, options, TimeProvider.System, new GatewayInstruments(_services.GetRequiredService<IMeterFactory>()), NullLogger.Instance);
        _server = connection.RunAsync(new ConnectResult(true, 0, null, "abandoned", 1, 0, 30, null), CancellationToken.None);
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
    public async Task A_timed_out_attempt_that_reads_its_payload_late_still_reads_the_bytes_it_was_made_with()
    {
        await SendAsync(0, 1000, seed: 1);

        // The first attempt stalls; the retry commits and is acknowledged; more messages arrive and are committed.
        Assert.Contains("\"offset\":1000", await ReceiveTextAsync(), StringComparison.Ordinal);
        for (var i = 0; i < 20; i++)
        {
            await SendAsync(1000 + (i * 1000L), 1000, seed: 10 + i);
            Assert.Contains($"\"offset\":{2000 + (i * 1000)}", await ReceiveTextAsync(), StringComparison.Ordinal);
        }

        // Now the stalled attempt goes on and reads its payload.
        _grain.Release();
        var late = await _grain.LateRead.WaitAsync(Timeout);
        Assert.Equal(Payload(1000, 1), late);
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

    /// <summary>Its first call stalls until released and only then reads its payload, like a message still queued to be sent.</summary>
    private sealed class LateReadingGrain : StandInStreamGrain
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<byte[]> _lateRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;
        private long _committed;

        public Task<byte[]> LateRead => _lateRead.Task;

        public void Release() => _release.TrySetResult();

        public override async Task<WriteResult> WriteAsync(ChunkWrite write)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                await _release.Task;
                _lateRead.TrySetResult(write.Data.Memory.ToArray());
                return new WriteResult(WriteOutcome.Committed, Interlocked.Read(ref _committed));
            }

            Interlocked.Exchange(ref _committed, Math.Max(Interlocked.Read(ref _committed), write.Offset + write.Data.Length));
            return new WriteResult(WriteOutcome.Committed, Interlocked.Read(ref _committed));
        }
    }
}

using System.Buffers.Binary;
using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net.WebSockets;
using BenchmarkDotNet.Attributes;
using LiveStream.Gateway.Ingest;
using LiveStream.Gateway.Options;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Telemetry;
using LiveStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveStream.Benchmarks;

/// <summary>
/// The gateway's per-chunk work, with the real <c>IngestConnection</c> on a real server WebSocket over in-memory
/// pipes: receive and unmask one <c>livestream.v1</c> message into the pooled buffer, read its offset, await the
/// grain write (a stand-in that commits at once: no Orleans, no network) and send the JSON ack. The client side is a
/// pre-built masked frame written into the pipe and the ack frame read back, so nearly all the time is the server's.
/// </summary>
[MemoryDiagnoser]
public class IngestChunkBenchmarks
{
    private Pipe _toServer = null!;
    private Pipe _toClient = null!;
    private Task<int> _server = null!;
    private byte[] _frame = [];
    private ServiceProvider _services = null!;

    [Params(16 * 1024, 62_500)]
    public int ChunkBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _toServer = new Pipe();
        _toClient = new Pipe();
        var socket = WebSocket.CreateFromStream(
            new DuplexStream(_toServer.Reader.AsStream(), _toClient.Writer.AsStream()),
            new WebSocketCreationOptions { IsServer = true, SubProtocol = IngestEndpoint.SubprotocolV1, KeepAliveInterval = TimeSpan.Zero });
        var options = new IngestOptions { MaxBitsPerSecond = long.MaxValue, IdleTimeout = TimeSpan.FromHours(1) };
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var instruments = new LiveStream.Gateway.Telemetry.GatewayInstruments(_services.GetRequiredService<IMeterFactory>());
        var connection = new IngestConnection(socket, new CommittingGrain(), IngestProtocol.V1, options, TimeProvider.System, new IdleWatch(Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System), instruments, NullLogger.Instance);
        _server = connection.RunAsync(new ConnectResult(true, 0, null, "bench", 1, 0, 30, null), CancellationToken.None);
        _frame = MaskedBinaryFrame(ChunkBytes);
        ReadFrameAsync().GetAwaiter().GetResult(); // hello
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _toServer.Writer.Complete();
        _server.GetAwaiter().GetResult();
        _toClient.Reader.Complete();
        _services.Dispose();
    }

    [Benchmark(Description = "v1 chunk: receive + unmask, offset, grain write (stub), JSON ack")]
    public async Task ReceiveAndAck()
    {
        await _toServer.Writer.WriteAsync(_frame);
        await ReadFrameAsync();
    }

    /// <summary>Reads one small unmasked server frame (an ack or hello, under 126 bytes).</summary>
    private async Task ReadFrameAsync()
    {
        while (true)
        {
            var read = await _toClient.Reader.ReadAsync();
            var buffer = read.Buffer;
            if (buffer.Length >= 2)
            {
                var length = 2 + (buffer.Slice(1, 1).FirstSpan[0] & 0x7F);
                if (buffer.Length >= length)
                {
                    _toClient.Reader.AdvanceTo(buffer.GetPosition(length));
                    return;
                }
            }

            if (read.IsCompleted)
            {
                throw new InvalidOperationException("the server closed the connection");
            }

            _toClient.Reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>A client's binary frame (masked, as browsers send) holding an 8-byte offset and <paramref name="payload"/> bytes.</summary>
    private static byte[] MaskedBinaryFrame(int payload)
    {
        var length = 8 + payload;
        var header = length < 126 ? 2 : length <= ushort.MaxValue ? 4 : 10;
        var frame = new byte[header + 4 + length];
        frame[0] = 0x82;
        if (header == 2)
        {
            frame[1] = (byte)(0x80 | length);
        }
        else if (header == 4)
        {
            frame[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)length);
        }
        else
        {
            frame[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)length);
        }

        var mask = frame.AsSpan(header, 4);
        Random.Shared.NextBytes(mask);
        var body = frame.AsSpan(header + 4);
        Random.Shared.NextBytes(body[8..]);
        BinaryPrimitives.WriteInt64BigEndian(body, 0);
        for (var i = 0; i < body.Length; i++)
        {
            body[i] ^= mask[i % 4];
        }

        return frame;
    }

    /// <summary>A stream grain that commits every write at once, so only the gateway's side is measured.</summary>
    private sealed class CommittingGrain : StandInStreamGrain
    {
        private long _committed;

        public override ValueTask<WriteResult> WriteAsync(ChunkWrite write) =>
            ValueTask.FromResult(new WriteResult(WriteOutcome.Committed, _committed += write.Data.Length));
    }
}

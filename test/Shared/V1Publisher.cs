using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace LiveStream.Testing;

/// <summary>A <c>livestream.v1</c> publisher: reads hello, sends offset-framed chunks, collects acks and the close.</summary>
public sealed class V1Publisher : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly Channel<JsonElement> _messages = Channel.CreateUnbounded<JsonElement>();
    private Task<WebSocketReceiveResult?> _receive = null!;
    private Action<long>? _onAck;
    private long _acked;

    public JsonElement Hello { get; private set; }

    public long ResumeFrom => Hello.GetProperty("resumeFrom").GetInt64();

    public string SessionId => Hello.GetProperty("sessionId").GetString()!;

    public long Acked => Interlocked.Read(ref _acked);

    public Task<WebSocketReceiveResult?> ServerClose => _receive;

    private V1Publisher(WebSocket socket) => _socket = socket;

    /// <summary>Connects over the network. <paramref name="onAck"/> sees every ack's offset as it arrives.</summary>
    public static Task<V1Publisher> ConnectAsync(Uri url, Action<long>? onAck = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(
            async token =>
            {
                var socket = new ClientWebSocket();
                socket.Options.AddSubProtocol("livestream.v1");
                try
                {
                    await socket.ConnectAsync(url, token);
                    return socket;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            onAck,
            cancellationToken);

    /// <summary>
    /// Connects with <paramref name="connect"/> (a test server's client), which must ask for <c>livestream.v1</c>,
    /// and reads <c>hello</c>. A refusal (the server closes before <c>hello</c>, e.g. 4503) throws
    /// <see cref="PublisherRefusedException"/> with the close code; the socket is disposed on any failure.
    /// </summary>
    public static async Task<V1Publisher> ConnectAsync(Func<CancellationToken, Task<WebSocket>> connect, Action<long>? onAck = null, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var publisher = new V1Publisher(await connect(timeout.Token)) { _onAck = onAck };
        try
        {
            if (publisher._socket.SubProtocol != "livestream.v1")
            {
                throw new InvalidOperationException($"subprotocol {publisher._socket.SubProtocol ?? "(none)"} instead of livestream.v1");
            }

            publisher._receive = publisher.ReceiveAsync();
            if (!await publisher._messages.Reader.WaitToReadAsync(timeout.Token))
            {
                var close = await publisher._receive;
                throw new PublisherRefusedException((int?)close?.CloseStatus, close?.CloseStatusDescription);
            }

            publisher.Hello = await publisher._messages.Reader.ReadAsync(timeout.Token);
            if (publisher.Hello.GetProperty("type").GetString() != "hello")
            {
                throw new InvalidOperationException($"first message is not hello: {publisher.Hello}");
            }

            return publisher;
        }
        catch
        {
            publisher._socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="payload"/> as the bytes at <paramref name="offset"/>.</summary>
    public async Task SendAsync(long offset, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        var message = new byte[8 + payload.Length];
        BinaryPrimitives.WriteInt64BigEndian(message, offset);
        payload.CopyTo(message.AsMemory(8));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await _socket.SendAsync(message, WebSocketMessageType.Binary, true, timeout.Token);
    }

    /// <summary>Sends <paramref name="bytes"/> from <paramref name="from"/> to <paramref name="to"/> in chunks of the given sizes.</summary>
    public async Task SendRangeAsync(byte[] bytes, long from, long to, int chunkBytes)
    {
        for (var offset = from; offset < to; offset += chunkBytes)
        {
            var length = (int)Math.Min(chunkBytes, to - offset);
            await SendAsync(offset, bytes.AsMemory((int)offset, length));
        }
    }

    /// <summary>
    /// Sends <paramref name="capture"/>'s chunks when the recorder produced them (their <c>msSinceStart</c>), as a
    /// browser would; <paramref name="due"/> runs, in order, at each of <paramref name="dueAtMs"/> into the capture.
    /// </summary>
    public async Task PublishAtPaceAsync(MediaCapture capture, IReadOnlyList<double>? dueAtMs = null, Func<int, Task>? due = null)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var next = 0;
        long offset = 0;
        var i = 0;
        foreach (var chunk in capture.Chunks())
        {
            var at = capture.ChunkTimesMs[i++];
            while (dueAtMs is not null && due is not null && next < dueAtMs.Count && dueAtMs[next] <= at)
            {
                await WaitUntilAsync(started, dueAtMs[next]);
                await due(next++);
            }

            await WaitUntilAsync(started, at);
            await SendAsync(offset, chunk);
            offset += chunk.Length;
        }
    }

    private static async Task WaitUntilAsync(System.Diagnostics.Stopwatch clock, double ms)
    {
        var wait = TimeSpan.FromMilliseconds(ms) - clock.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }

    /// <summary>Waits for an ack of <paramref name="offset"/>; fails at once, with the close's code and reason, when the server closes first.</summary>
    public async Task WaitForAckAsync(long offset, TimeSpan timeout)
    {
        await LiveStream.Testing.Eventually.HoldsAsync(() => Acked >= offset || _receive.IsCompleted, timeout, $"an ack of {offset}");
        if (Acked < offset)
        {
            var close = await _receive;
            throw new InvalidOperationException($"no ack of {offset} (acked {Acked}): the connection ended, close {(int?)close?.CloseStatus} {close?.CloseStatusDescription}");
        }
    }

    public async Task EndAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _socket.SendAsync("""{"type":"end"}"""u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>Drops the connection without a close frame, as a network failure would.</summary>
    public void Abort() => _socket.Abort();

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<WebSocketReceiveResult?> ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _messages.Writer.TryComplete();
                    return result;
                }

                var json = JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.Clone();
                if (json.GetProperty("type").GetString() == "ack")
                {
                    var offset = json.GetProperty("offset").GetInt64();
                    Interlocked.Exchange(ref _acked, Math.Max(Interlocked.Read(ref _acked), offset));
                    _onAck?.Invoke(offset);
                }
                else
                {
                    _messages.Writer.TryWrite(json);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            _messages.Writer.TryComplete();
            return null;
        }
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveStream.Benchmarks.Load;

/// <summary>
/// The yardstick for the cluster path, in the test tree only: one process, a WebSocket straight into the same
/// kind of sink (null: count the bytes; archive: append and flush to a file), no Orleans, and the same
/// <c>livestream.v1</c> framing, trimming, gap refusal, hello, ack after every commit and <c>end</c>. The cost of
/// the gateway → grain hop is what the cluster path spends above this.
/// </summary>
internal static class DirectPipeServer
{
    private const int ReceiveBufferBytes = 64 * 1024;
    private const int MaxMessageBytes = 4 * 1024 * 1024;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Verb <c>pipe --urls URL [--archive DIR] [--forward PORT]</c>: serves until killed. With <c>--forward</c>, the
    /// relay yardstick: every payload goes to <see cref="RelaySink"/> on that port before it is acknowledged.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var archive = args.SkipWhile(a => a != "--archive").Skip(1).FirstOrDefault();
        var forwardPort = args.SkipWhile(a => a != "--forward").Skip(1).FirstOrDefault();
        using var forwarder = forwardPort is null ? null : await RelayForwarder.ConnectAsync(int.Parse(forwardPort, System.Globalization.CultureInfo.InvariantCulture));
        string?[] ours = ["--archive", archive, "--forward", forwardPort];
        var builder = WebApplication.CreateSlimBuilder(args.Where(a => !ours.Contains(a)).ToArray());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // The same socket buffers as the gateway, so that the hop is compared with a pipe that reads sockets alike.
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LiveStream.Gateway.Hosting.SocketBlockPoolFactory>();
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });
        var sessions = new ConcurrentDictionary<string, PipeSession>(StringComparer.Ordinal);
        app.MapGet("/health/ready", () => "ok");
        app.Map("/stream/live/{key}", (HttpContext http, string key) => HandleAsync(http, sessions.GetOrAdd(key, k => new PipeSession(archive is null ? null : Path.Combine(archive, k), forwarder)), () => sessions.TryRemove(key, out _)));
        await app.RunAsync();
        return 0;
    }

    private static async Task HandleAsync(HttpContext http, PipeSession session, Action ended)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            http.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            return;
        }

        var v1 = http.WebSockets.WebSocketRequestedProtocols.Contains("livestream.v1");
        using var socket = await http.WebSockets.AcceptWebSocketAsync(v1 ? "livestream.v1" : null);
        var cancellationToken = http.RequestAborted;
        if (v1)
        {
            await SendAsync(socket, new PipeHello("hello", session.Id, session.Committed, 30), cancellationToken);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferBytes);
        try
        {
            while (true)
            {
                var filled = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (filled == buffer.Length)
                    {
                        if (buffer.Length >= MaxMessageBytes)
                        {
                            await socket.CloseAsync((WebSocketCloseStatus)1009, "too big", cancellationToken);
                            return;
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.CopyTo(bigger, 0);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(filled), cancellationToken);
                    filled += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", cancellationToken);
                    return;
                }

                if (result.MessageType == WebSocketMessageType.Text)
                {
                    // The only text a v1 client sends is end; the yardstick does not look further.
                    ended();
                    session.Dispose();
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "session ended", cancellationToken);
                    return;
                }

                var offset = v1 ? BinaryPrimitives.ReadInt64BigEndian(buffer) : session.Committed;
                var payload = buffer.AsMemory(v1 ? 8 : 0, filled - (v1 ? 8 : 0));
                var committed = await session.WriteAsync(offset, payload, cancellationToken);
                if (committed < 0)
                {
                    await socket.CloseAsync((WebSocketCloseStatus)4400, "gap", cancellationToken);
                    return;
                }

                if (v1)
                {
                    await SendAsync(socket, new PipeAck("ack", committed), cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // Dropped: the session waits for the publisher to come back.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Task SendAsync<T>(WebSocket socket, T message, CancellationToken cancellationToken) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, Json), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    private sealed record PipeHello(string Type, string SessionId, long ResumeFrom, int ReconnectWindowSeconds);

    private sealed record PipeAck(string Type, long Offset);

    /// <summary>One session's committed offset and sink, with writes in offset order (overlap trimmed, gaps refused).</summary>
    private sealed class PipeSession(string? archivePath, RelayForwarder? forwarder) : IDisposable
    {
        private readonly SemaphoreSlim _lock = new(1, 1);
        private FileStream? _archive;
        private long _committed;

        public string Id { get; } = Guid.NewGuid().ToString("N");

        public long Committed => Interlocked.Read(ref _committed);

        /// <summary>Returns the committed byte count, or -1 for a gap.</summary>
        public async Task<long> WriteAsync(long offset, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            await _lock.WaitAsync(cancellationToken);
            try
            {
                if (offset > _committed)
                {
                    return -1;
                }

                var fresh = payload[(int)Math.Min(payload.Length, _committed - offset)..];
                if (archivePath is not null && !fresh.IsEmpty)
                {
                    _archive ??= new FileStream(archivePath, FileMode.Append, FileAccess.Write, FileShare.Read, 1, useAsync: true);
                    await _archive.WriteAsync(fresh, cancellationToken);
                    await _archive.FlushAsync(cancellationToken);
                }

                if (forwarder is not null && !fresh.IsEmpty)
                {
                    await forwarder.ForwardAsync(fresh, cancellationToken);
                }

                return Interlocked.Add(ref _committed, fresh.Length);
            }
            finally
            {
                _lock.Release();
            }
        }

        public void Dispose()
        {
            _archive?.Dispose();
            _lock.Dispose();
        }
    }
}

using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LiveStream.Benchmarks.Load;

/// <summary>
/// The floor of any two-process ingest path on this machine, in the test tree only: the direct pipe forwards every
/// payload it would sink over one loopback TCP connection to a second process (<see cref="RelaySink"/>), and
/// acknowledges it only once that process answered. No Orleans, no serialisation beyond an 8-byte header, one
/// connection for every session, answers handled on the thread that read them (no hand-off at all). The cluster path
/// moves the same bytes between its gateway and its silo; what it spends above this is Orleans' and LiveStream's,
/// what this spends above the direct pipe is the second process's.
/// </summary>
internal sealed class RelayForwarder : IDisposable
{
    private readonly Socket _socket;
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _pending = new();
    private readonly byte[] _header = new byte[RelaySink.HeaderBytes];
    private int _next;

    private RelayForwarder(Socket socket)
    {
        _socket = socket;
        _ = ReadAnswersAsync();
    }

    public static async Task<RelayForwarder> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return new RelayForwarder(socket);
    }

    /// <summary>Sends <paramref name="payload"/> to the sink; completes when the sink has answered for it.</summary>
    public async Task ForwardAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _next);
        // Continuations run on the answer reader's thread: the least a hop can cost, which is what a floor is for.
        var answered = new TaskCompletionSource();
        _pending[id] = answered;
        await _send.WaitAsync(cancellationToken);
        try
        {
            BinaryPrimitives.WriteInt32BigEndian(_header, id);
            BinaryPrimitives.WriteInt32BigEndian(_header.AsSpan(4), payload.Length);
            await _socket.SendAsync(_header, SocketFlags.None, cancellationToken);
            while (!payload.IsEmpty)
            {
                var sent = await _socket.SendAsync(payload, SocketFlags.None, cancellationToken);
                payload = payload[sent..];
            }
        }
        finally
        {
            _send.Release();
        }

        await answered.Task.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        _socket.Dispose();
        _send.Dispose();
    }

    private async Task ReadAnswersAsync()
    {
        var buffer = new byte[64 * RelaySink.AnswerBytes];
        var filled = 0;
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
                if (read == 0)
                {
                    break;
                }

                filled += read;
                var at = 0;
                for (; filled - at >= RelaySink.AnswerBytes; at += RelaySink.AnswerBytes)
                {
                    if (_pending.TryRemove(BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(at)), out var answered))
                    {
                        answered.TrySetResult();
                    }
                }

                buffer.AsSpan(at, filled - at).CopyTo(buffer);
                filled -= at;
            }
        }
        catch (SocketException)
        {
            // The sink went away: every waiting session fails below.
        }

        foreach (var waiting in _pending.Values)
        {
            waiting.TrySetException(new IOException("relay sink closed"));
        }
    }
}

/// <summary>Verb <c>sink --port P</c>: the relay's second process. Reads frames (id, length, payload), counts them, answers each with its id.</summary>
internal static class RelaySink
{
    public const int HeaderBytes = 8;
    public const int AnswerBytes = 4;
    private const int ReadBytes = 64 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(args.SkipWhile(a => a != "--port").Skip(1).First(), CultureInfo.InvariantCulture);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen();
        while (true)
        {
            _ = ServeAsync(await listener.AcceptAsync());
        }
    }

    private static async Task ServeAsync(Socket socket)
    {
        using var owned = socket;
        socket.NoDelay = true;
        // Socket reads of 64 KiB, as the gateway's and Orleans' connections read; a frame that does not fit grows it.
        var buffer = new byte[4 * ReadBytes];
        var answer = new byte[AnswerBytes];
        var filled = 0;
        long received = 0;
        try
        {
            while (true)
            {
                if (buffer.Length - filled < ReadBytes)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                var read = await socket.ReceiveAsync(buffer.AsMemory(filled, ReadBytes), SocketFlags.None);
                if (read == 0)
                {
                    return;
                }

                filled += read;
                var at = 0;
                while (filled - at >= HeaderBytes)
                {
                    var length = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(at + 4));
                    if (filled - at - HeaderBytes < length)
                    {
                        break;
                    }

                    received += length;
                    buffer.AsSpan(at, AnswerBytes).CopyTo(answer);
                    await socket.SendAsync(answer, SocketFlags.None);
                    at += HeaderBytes + length;
                }

                if (at > 0)
                {
                    // The part of a frame still arriving moves to the front (once per frame read to its end).
                    buffer.AsSpan(at, filled - at).CopyTo(buffer);
                    filled -= at;
                }
            }
        }
        catch (SocketException)
        {
            // The forwarding process went away.
        }

        GC.KeepAlive(received);
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// A loopback TCP proxy in front of a gateway. <see cref="CutAll"/> resets every connection through it at once, as a
/// network failure would, so a test can drop a live publisher's socket without any test-only path in the gateway.
/// </summary>
public sealed class LoopbackTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<long, (Socket Client, Socket Upstream)> _connections = new();
    private readonly ConcurrentBag<Task> _pumps = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private long _nextId;

    public LoopbackTcpProxy(Uri target)
    {
        _target = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accept = AcceptLoopAsync();
    }

    /// <summary>The proxy's own origin.</summary>
    public Uri Url { get; }

    /// <summary>Resets every open connection (RST both ways); returns how many there were.</summary>
    public int CutAll()
    {
        var cut = 0;
        foreach (var id in _connections.Keys)
        {
            if (_connections.TryRemove(id, out var pair))
            {
                Reset(pair.Client);
                Reset(pair.Upstream);
                cut++;
            }
        }

        return cut;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        try
        {
            await _accept;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(_pumps).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stop.Token);
            var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.NoDelay = true;
            try
            {
                await upstream.ConnectAsync(_target, _stop.Token);
            }
            catch (SocketException)
            {
                Reset(client);
                upstream.Dispose();
                continue;
            }

            var id = Interlocked.Increment(ref _nextId);
            _connections[id] = (client, upstream);
            _pumps.Add(PipeAsync(id, client, upstream));
        }
    }

    private async Task PipeAsync(long id, Socket client, Socket upstream)
    {
        await Task.WhenAll(CopyAsync(client, upstream), CopyAsync(upstream, client));
        _connections.TryRemove(id, out _);
        client.Dispose();
        upstream.Dispose();
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // One side failed or was cut: the other direction must end too.
            from.Dispose();
            to.Dispose();
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }
}

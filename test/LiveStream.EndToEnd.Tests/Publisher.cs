using System.Net.WebSockets;

namespace LiveStream.EndToEnd.Tests;

/// <summary>A raw WebSocket publisher (what a browser's <c>ws.send(arrayBuffer)</c> does) that notices any close from the server.</summary>
public sealed class Publisher : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private Task<WebSocketReceiveResult?> _receive = Task.FromResult<WebSocketReceiveResult?>(null);

    public WebSocket Socket => _socket;

    /// <summary>Completes when the server sends a close frame (or the connection dies).</summary>
    public Task<WebSocketReceiveResult?> ServerClose => _receive;

    public static async Task<Publisher> ConnectAsync(Uri url, string? subprotocol = null)
    {
        var publisher = new Publisher();
        if (subprotocol is not null)
        {
            publisher._socket.Options.AddSubProtocol(subprotocol);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await publisher._socket.ConnectAsync(url, timeout.Token);
        publisher._receive = publisher.ReceiveUntilCloseAsync();
        return publisher;
    }

    public async Task SendAsync(ReadOnlyMemory<byte> chunk)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _socket.SendAsync(chunk, WebSocketMessageType.Binary, endOfMessage: true, timeout.Token);
    }

    public async Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _socket.CloseAsync(status, "done", timeout.Token);
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<WebSocketReceiveResult?> ReceiveUntilCloseAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return result;
                }
            }
        }
        catch (WebSocketException)
        {
            return null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }
}

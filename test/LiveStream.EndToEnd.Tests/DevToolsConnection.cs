using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// A raw Chrome DevTools Protocol connection to a browser (flattened sessions): commands by id, events to
/// subscribers. Enough to drive pages from the tests without a browser-automation package.
/// </summary>
public sealed class DevToolsConnection : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _receive = Task.CompletedTask;
    private int _nextId;

    /// <summary>Raised for every event: method, session id (null for the browser) and params.</summary>
    public event Action<string, string?, JsonElement>? Event;

    public static async Task<DevToolsConnection> ConnectAsync(Uri url)
    {
        var connection = new DevToolsConnection();
        connection._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await connection._socket.ConnectAsync(url, timeout.Token);
        connection._receive = connection.ReceiveLoopAsync();
        return connection;
    }

    /// <summary>Sends a command and returns its result; a protocol error throws.</summary>
    public async Task<JsonElement> SendAsync(string method, object? parameters = null, string? sessionId = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var done = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        var message = new Dictionary<string, object?> { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new { } };
        if (sessionId is not null)
        {
            message["sessionId"] = sessionId;
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(message);
        using var timeout = new CancellationTokenSource(CommandTimeout);
        await _sendLock.WaitAsync(timeout.Token);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        }
        finally
        {
            _sendLock.Release();
        }

        try
        {
            return await done.Task.WaitAsync(CommandTimeout);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        try
        {
            await _receive.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or TimeoutException)
        {
        }

        _socket.Dispose();
        _sendLock.Dispose();
        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                message.SetLength(0);
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(), _stop.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                Dispatch(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            foreach (var pending in _pending.Values)
            {
                pending.TrySetException(new InvalidOperationException("DevTools connection closed"));
            }
        }
    }

    private void Dispatch(JsonElement message)
    {
        if (message.TryGetProperty("id", out var id))
        {
            if (_pending.TryGetValue(id.GetInt32(), out var done))
            {
                if (message.TryGetProperty("error", out var error))
                {
                    done.TrySetException(new InvalidOperationException($"DevTools error: {error}"));
                }
                else
                {
                    done.TrySetResult(message.GetProperty("result"));
                }
            }

            return;
        }

        var sessionId = message.TryGetProperty("sessionId", out var s) ? s.GetString() : null;
        var parameters = message.TryGetProperty("params", out var p) ? p : default;
        Event?.Invoke(message.GetProperty("method").GetString()!, sessionId, parameters);
    }

    internal static string Describe(JsonElement value) =>
        value.ValueKind == JsonValueKind.Undefined ? "" : Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(value));
}

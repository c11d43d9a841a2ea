using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;

namespace LiveStream.Testing.Load;

/// <summary>
/// One simulated browser publisher: sends its stream's chunks when they fall due, over <c>livestream.v1</c> (or
/// raw), times every ack, drops its socket when told to and reopens it at once, resending from
/// <c>hello.resumeFrom</c>, and ends with <c>end</c> at the run's time limit. No thread of its own: two async
/// loops (send, receive) per open socket, a 1 KiB receive buffer, and each message in a pooled buffer.
/// </summary>
internal sealed class LoadPublisher(
    StreamProgress progress,
    LoadSchedule schedule,
    LoadSettings settings,
    LoadStats stats,
    HttpMessageInvoker invoker,
    bool hasTwin,
    long origin,
    long measureFrom,
    long stopAt,
    Random random)
{
    public const string Subprotocol = "livestream.v1";
    private const int HeaderBytes = 8;
    private const int MaxFailures = 20;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan EndTimeout = TimeSpan.FromSeconds(15);
    private static readonly byte[] EndMessage = """{"type":"end"}"""u8.ToArray();

    private readonly LoadStats.PublisherTimings _timings = stats.NewTimings();
    private readonly Queue<(long End, long SentAt)> _pending = new();
    private readonly byte[] _receiveBuffer = new byte[1024];
    private long _reconnectStarted;
    private long _connectionResumeFrom;
    private long _connectionAcked;

    private enum Outcome
    {
        Done,
        Dropped,
        Closed,
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PublishUntilDoneAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            stats.Closed("cancelled (run over its hard limit)");
        }
        catch (Exception ex)
        {
            stats.Closed("exception: " + ex.GetType().Name + ": " + ex.Message);
        }
    }

    private async Task PublishUntilDoneAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        long offset = 0;
        while (failures < MaxFailures)
        {
            using var socket = new ClientWebSocket();
            if (!settings.Raw)
            {
                socket.Options.AddSubProtocol(Subprotocol);
            }

            try
            {
                await socket.ConnectAsync(progress.Stream.IngestUrl, invoker, cancellationToken);
                if (_reconnectStarted != 0 && _reconnectStarted >= measureFrom)
                {
                    _timings.ReconnectUpgradeMs.Add(LoadStats.PublisherTimings.Ms(_reconnectStarted, Stopwatch.GetTimestamp()));
                }
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException)
            {
                stats.Closed("connect: " + (ex.InnerException ?? ex).Message);
                failures++;
                await Task.Delay(RetryDelay, cancellationToken);
                continue;
            }

            if (!settings.Raw)
            {
                var (resumeFrom, closed) = await ReadHelloAsync(socket, cancellationToken);
                if (resumeFrom is null)
                {
                    stats.Closed("before hello: " + Describe(closed));
                    failures++;
                    await Task.Delay(RetryDelay, cancellationToken);
                    continue;
                }

                offset = resumeFrom.Value;
            }

            stats.Connected();
            if (_reconnectStarted != 0 && _reconnectStarted >= measureFrom)
            {
                _timings.ReconnectHelloMs.Add(LoadStats.PublisherTimings.Ms(_reconnectStarted, Stopwatch.GetTimestamp()));
            }

            var (outcome, code, sentTo) = await PublishAsync(socket, offset, cancellationToken);
            offset = sentTo;
            switch (outcome)
            {
                case Outcome.Done:
                    return;
                case Outcome.Dropped:
                    _reconnectStarted = Stopwatch.GetTimestamp();
                    break;
                default:
                    if (code == 4409 && hasTwin)
                    {
                        // Taken over by the stream's other publisher, as a second tab would be.
                        stats.Closed("expected 4409 (taken over)");
                        return;
                    }

                    stats.Closed(Describe(code));
                    failures++;
                    _reconnectStarted = 0;
                    if (Stopwatch.GetTimestamp() >= stopAt)
                    {
                        return;
                    }

                    await Task.Delay(RetryDelay, cancellationToken);
                    break;
            }
        }
    }

    private async Task<(long? ResumeFrom, int? Closed)> ReadHelloAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HelloTimeout);
        try
        {
            var result = await socket.ReceiveAsync(_receiveBuffer.AsMemory(), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await AnswerCloseAsync(socket);
                return (null, (int?)socket.CloseStatus ?? 1005);
            }

            using var hello = JsonDocument.Parse(_receiveBuffer.AsMemory(0, result.Count));
            var sessionId = hello.RootElement.GetProperty("sessionId").GetString()!;
            progress.Sessions.AddOrUpdate(sessionId, 1, (_, n) => n + 1);
            var resumeFrom = hello.RootElement.GetProperty("resumeFrom").GetInt64();
            progress.Ack(resumeFrom);
            return (resumeFrom, null);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, null);
        }
    }

    private async Task<(Outcome Outcome, int? Code, long SentTo)> PublishAsync(ClientWebSocket socket, long offset, CancellationToken cancellationToken)
    {
        lock (_pending)
        {
            _pending.Clear();
        }

        Volatile.Write(ref _connectionResumeFrom, offset);
        Volatile.Write(ref _connectionAcked, offset);
        var receive = ReceiveAsync(socket, cancellationToken);
        var dropAt = settings.DropEvery is { } every
            ? Stopwatch.GetTimestamp() + (long)(every.TotalSeconds * (0.5 + random.NextDouble()) * Stopwatch.Frequency)
            : long.MaxValue;

        for (var index = schedule.ChunkAt(offset); schedule.TryGetChunk(index, out var start, out var length, out var dueMs); index++)
        {
            var due = origin + (long)(dueMs * Stopwatch.Frequency / 1000);
            if (due >= stopAt)
            {
                // Every publisher ends at the time limit itself, not after its own last chunk: the publishers
                // started over the ramp-up send their last chunks over a whole interval, and a publisher ending
                // while the others still send puts the session ends (a storm of their own at this moment) into
                // the others' ack latency. The external client (test/load-ws) ends the same way.
                if (!await WaitUntilAsync(stopAt, receive, cancellationToken))
                {
                    return (Outcome.Closed, await receive, offset);
                }

                break;
            }

            if (!await WaitUntilAsync(due, receive, cancellationToken))
            {
                return (Outcome.Closed, await receive, offset);
            }

            if (Stopwatch.GetTimestamp() >= dropAt)
            {
                // An abrupt drop (no close frame, as when a laptop's Wi-Fi goes), found when the next chunk is due:
                // that chunk is the first one sent on the new socket, so reconnect → first ack has no idle wait in it.
                socket.Abort();
                stats.Dropped();
                await receive;
                return (Outcome.Dropped, null, offset);
            }

            var from = Math.Max(start, offset);
            var count = (int)(start + length - from);
            if (count <= 0)
            {
                continue;
            }

            if (!await SendChunkAsync(socket, from, count, cancellationToken))
            {
                return (Outcome.Closed, await receive, offset);
            }

            offset = from + count;
            stats.Sent(count);
            progress.SentTo(offset);
        }

        return await EndAsync(socket, receive, offset, cancellationToken);
    }

    /// <summary>Waits until <paramref name="timestamp"/>; false when the socket closed first.</summary>
    private static async Task<bool> WaitUntilAsync(long timestamp, Task<int?> receive, CancellationToken cancellationToken)
    {
        var wait = timestamp - Stopwatch.GetTimestamp();
        return !(wait > 0 && await Task.WhenAny(Task.Delay(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency), cancellationToken), receive) == receive
            || receive.IsCompleted);
    }

    private async Task<bool> SendChunkAsync(ClientWebSocket socket, long from, int count, CancellationToken cancellationToken)
    {
        var header = settings.Raw ? 0 : HeaderBytes;
        var message = ArrayPool<byte>.Shared.Rent(header + count);
        try
        {
            if (!settings.Raw)
            {
                BinaryPrimitives.WriteInt64BigEndian(message, from);
            }

            schedule.CopyTo(from, message.AsSpan(header, count));
            lock (_pending)
            {
                _pending.Enqueue((from + count, Stopwatch.GetTimestamp()));
            }

            await socket.SendAsync(message.AsMemory(0, header + count), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(message);
        }
    }

    /// <summary>The time limit: waits until everything sent is acknowledged, then ends the session deliberately.</summary>
    private async Task<(Outcome, int?, long)> EndAsync(ClientWebSocket socket, Task<int?> receive, long offset, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(EndTimeout);
        try
        {
            if (settings.Raw)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
                stats.Closed("expected 1000 (end)");
                return (Outcome.Done, 1000, offset);
            }

            while (Volatile.Read(ref _connectionAcked) < offset && !receive.IsCompleted)
            {
                // Task.WhenAny does not throw for a cancelled delay: without the check, a publisher whose time is up
                // would spin on a completed task (a thousand of them took both cores from the servers they measure).
                await Task.WhenAny(Task.Delay(20, timeout.Token), receive);
                timeout.Token.ThrowIfCancellationRequested();
            }

            if (receive.IsCompleted)
            {
                return (Outcome.Closed, await receive, offset);
            }

            await socket.SendAsync(EndMessage, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            var code = await receive.WaitAsync(timeout.Token);
            if (code == 1000)
            {
                stats.Closed("expected 1000 (end)");
                return (Outcome.Done, code, offset);
            }

            return (Outcome.Closed, code, offset);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            stats.Closed("end: no close 1000 within " + EndTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s");
            socket.Abort();
            return (Outcome.Done, null, offset);
        }
    }

    /// <summary>Reads acks until the socket closes; returns the server's close code, or null when the socket broke.</summary>
    private async Task<int?> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(_receiveBuffer.AsMemory(), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await AnswerCloseAsync(socket);
                    return (int?)socket.CloseStatus ?? 1005;
                }

                if (result.MessageType == WebSocketMessageType.Text && result.EndOfMessage && TryReadAck(_receiveBuffer.AsSpan(0, result.Count), out var acked))
                {
                    OnAck(acked);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            return null;
        }
    }

    private void OnAck(long acked)
    {
        var now = Stopwatch.GetTimestamp();
        stats.Acked(progress.Ack(acked));
        Volatile.Write(ref _connectionAcked, acked);
        lock (_pending)
        {
            while (_pending.TryPeek(out var sent) && sent.End <= acked)
            {
                _pending.Dequeue();
                if (sent.SentAt >= measureFrom)
                {
                    _timings.AckMs.Add(LoadStats.PublisherTimings.Ms(sent.SentAt, now));
                }
            }
        }

        if (_reconnectStarted != 0 && acked > Volatile.Read(ref _connectionResumeFrom))
        {
            if (_reconnectStarted >= measureFrom)
            {
                _timings.ReconnectAckMs.Add(LoadStats.PublisherTimings.Ms(_reconnectStarted, now));
            }

            _reconnectStarted = 0;
        }
    }

    private static bool TryReadAck(ReadOnlySpan<byte> json, out long offset)
    {
        offset = -1;
        var isAck = false;
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
                {
                    continue;
                }

                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    isAck = reader.ValueTextEquals("ack"u8);
                }
                else if (reader.ValueTextEquals("offset"u8))
                {
                    reader.Read();
                    offset = reader.GetInt64();
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        return isAck && offset >= 0;
    }

    private static async Task AnswerCloseAsync(ClientWebSocket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The server is gone already.
        }
    }

    private static string Describe(int? code) => code?.ToString(CultureInfo.InvariantCulture) ?? "socket broke";
}

using System.Net.WebSockets;
using System.Text.Json;
using LiveStream.Ingest;

namespace LiveStream.Gateway.Ingest;

/// <summary>The receive side: messages off the socket, batched into runs of contiguous bytes.</summary>
internal sealed partial class IngestConnection
{
    private async Task<Outcome> ReceiveLoopAsync(ReceiveBuffer state, CancellationToken cancellationToken)
    {
        // A message whose start was seen while a batch was read (a text or close frame, or a binary message that
        // would not fit in the buffer's room), and a wait for the next message that a batch started but did not need.
        ValueWebSocketReceiveResult? seen = null;
        ValueTask<ValueWebSocketReceiveResult>? waiting = null;
        while (true)
        {
            ValueWebSocketReceiveResult start;
            if (seen is { } known)
            {
                start = known;
                seen = null;
            }
            else
            {
                // Between messages no receive buffer is held: a zero-byte read waits for the next frame, so an idle
                // connection costs its socket and nothing more. Idle time is time spent waiting here; back-pressure
                // (a full session buffer) is not idleness.
                Volatile.Write(ref _waitingSince, time.GetTimestamp());
                start = await (waiting ?? socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken));
                waiting = null;
                Volatile.Write(ref _waitingSince, 0);
            }

            var (filled, tooBig) = await ReceiveMessageAsync(state, start, at: 0, cancellationToken);
            if (tooBig is not null)
            {
                return tooBig;
            }

            switch (start.MessageType)
            {
                case WebSocketMessageType.Close:
                    return ClientClosed();
                case WebSocketMessageType.Text:
                    if (protocol == IngestProtocol.V1 && IsEndMessage(state.Buffer.AsSpan(0, filled)))
                    {
                        return new Outcome(DisconnectKind.End, CloseCodes.Normal, CloseCodes.Normal, "session ended");
                    }

                    return Outcome.ServerClose(CloseCodes.ProtocolViolation, protocol == IngestProtocol.Raw ? "text frame in raw mode" : "malformed message");
            }

            var batch = _batch;
            batch.Reset(_offset);
            if (batch.Add(protocol, state.Buffer, 0, filled, time.GetTimestamp()) is { } malformed)
            {
                return Outcome.ServerClose(CloseCodes.ProtocolViolation, malformed);
            }

            // Fewer, larger hops: the binary messages that have already arrived join this one's grain call (their
            // bytes continue its bytes). Nothing waits for a batch: the first message not here yet ends it.
            while (batch.Bytes < BatchBytes)
            {
                var next = socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
                if (!next.IsCompleted)
                {
                    waiting = next;
                    break;
                }

                var more = await next;
                if (more.MessageType != WebSocketMessageType.Binary || state.Buffer.Length - batch.End < filled)
                {
                    // A text or close frame ends the batch, and so does a message that would not fit in the room the
                    // buffer has left (judged by the size of the one before it): a batch never grows the buffer. A
                    // backlog (a slow silo) would otherwise turn every connection's buffer into a mebibyte, copied
                    // at each doubling, at the moment the gateway can least afford it. The message is read next.
                    seen = more;
                    break;
                }

                var at = batch.End;
                (filled, tooBig) = await ReceiveMessageAsync(state, more, at, cancellationToken);
                if (tooBig is not null)
                {
                    return tooBig;
                }

                if (batch.Add(protocol, state.Buffer, at, filled, time.GetTimestamp()) is { } bad)
                {
                    return Outcome.ServerClose(CloseCodes.ProtocolViolation, bad);
                }
            }

            for (var i = 0; i < batch.Runs.Count; i++)
            {
                var written = await WriteRunAsync(batch.Runs[i], state, cancellationToken);
                if (written is not null)
                {
                    return written;
                }
            }

            state.Release(batch.End);
        }
    }

    /// <summary>
    /// Receives the message whose start is <paramref name="start"/> into the buffer from <paramref name="at"/>;
    /// returns its length, or the close for a message over <c>MaxMessageBytes</c>.
    /// </summary>
    private async ValueTask<(int Length, Outcome? TooBig)> ReceiveMessageAsync(ReceiveBuffer state, ValueWebSocketReceiveResult start, int at, CancellationToken cancellationToken)
    {
        var result = start;
        var filled = 0;
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close)
        {
            if (filled >= options.MaxMessageBytes || (at + filled == state.Buffer.Length && !state.Grow(at + options.MaxMessageBytes)))
            {
                return (filled, Outcome.ServerClose(CloseCodes.MessageTooBig, $"message over {options.MaxMessageBytes} bytes"));
            }

            Volatile.Write(ref _waitingSince, time.GetTimestamp());
            result = await socket.ReceiveAsync(state.Buffer.AsMemory(at + filled, Math.Min(state.Buffer.Length - at - filled, options.MaxMessageBytes - filled)), cancellationToken);
            Volatile.Write(ref _waitingSince, 0);
            filled += result.Count;
        }

        return (filled, null);
    }

    private Outcome ClientClosed()
    {
        // A raw client's 1000 or bare close (1005) is a deliberate end; anything else only drops the connection.
        var status = (int?)socket.CloseStatus ?? 1005;
        var kind = protocol == IngestProtocol.Raw && status is 1000 or 1005 ? DisconnectKind.End : DisconnectKind.Dropped;
        return new Outcome(kind, status, CloseCodes.Normal, "");
    }

    private static bool IsEndMessage(ReadOnlySpan<byte> text)
    {
        try
        {
            var reader = new Utf8JsonReader(text);
            using var doc = JsonDocument.ParseValue(ref reader);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("type", out var type)
                && type.ValueKind == JsonValueKind.String
                && type.ValueEquals("end");
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

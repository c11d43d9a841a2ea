using System.Buffers.Binary;
using LiveStream.Ingest;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// The messages one read of a socket hands to the grain: runs of contiguous bytes in the receive buffer, one grain
/// call each. A <c>livestream.v1</c> message's 8-byte offset is read off; a message that continues the run before it
/// has its payload moved down over its offset, so the run grows; one that does not (a resend after a reconnect)
/// starts a run of its own, and so does one that would take a run past <c>maxRunBytes</c> (a grain call carries at
/// most that much, or one message, so a session buffer holds no more than its capacity for it). Raw messages always
/// continue. Reused by its connection, message after message.
/// </summary>
internal sealed class IngestBatch(int maxRunBytes)
{
    private const int OffsetHeaderBytes = 8;

    private readonly List<Run> _runs = [];
    private readonly List<long> _receivedAt = [];
    private long _rawOffset;

    /// <summary>The runs, in the order they arrived.</summary>
    public IReadOnlyList<Run> Runs => _runs;

    /// <summary>Payload bytes in the batch.</summary>
    public int Bytes { get; private set; }

    /// <summary>Where the next message is received into the buffer (right after the last payload).</summary>
    public int End { get; private set; }

    /// <summary>When message <paramref name="index"/> of <paramref name="run"/> arrived (its last frame), as a timestamp.</summary>
    public long ReceivedAt(Run run, int index) => _receivedAt[run.FirstMessage + index];

    /// <summary>Empties the batch; a raw connection's next message is at <paramref name="committed"/>.</summary>
    public void Reset(long committed)
    {
        _runs.Clear();
        _receivedAt.Clear();
        _rawOffset = committed;
        Bytes = 0;
        End = 0;
    }

    /// <summary>
    /// Takes the message received at <c>buffer[at..at + length]</c> (<paramref name="at"/> is <see cref="End"/>);
    /// returns why it is malformed, or null.
    /// </summary>
    public string? Add(IngestProtocol protocol, byte[] buffer, int at, int length, long receivedAt)
    {
        long offset;
        var payload = at;
        if (protocol == IngestProtocol.V1)
        {
            if (length < OffsetHeaderBytes)
            {
                return "binary message shorter than its 8-byte offset";
            }

            offset = BinaryPrimitives.ReadInt64BigEndian(buffer.AsSpan(at));
            if (offset < 0)
            {
                return "negative offset";
            }

            payload += OffsetHeaderBytes;
            length -= OffsetHeaderBytes;
        }
        else
        {
            offset = _rawOffset;
            _rawOffset += length;
        }

        _receivedAt.Add(receivedAt);
        Bytes += length;
        if (_runs.Count > 0 && _runs[^1] is var last && last.Offset + last.Length == offset && last.Length + length <= maxRunBytes)
        {
            // It continues the run: its payload moves down over its offset, right after the run's bytes.
            buffer.AsSpan(payload, length).CopyTo(buffer.AsSpan(last.Start + last.Length));
            _runs[^1] = last with { Length = last.Length + length, Messages = last.Messages + 1 };
            End = last.Start + last.Length + length;
            return null;
        }

        _runs.Add(new Run(offset, payload, length, _receivedAt.Count - 1, 1));
        End = payload + length;
        return null;
    }

    /// <summary>Contiguous bytes at <see cref="Offset"/> of the session, at <c>buffer[Start..Start + Length]</c>.</summary>
    public readonly record struct Run(long Offset, int Start, int Length, int FirstMessage, int Messages);
}

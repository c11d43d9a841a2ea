using System.Buffers;
using System.Threading.Channels;

namespace LiveStream.Media;

/// <summary>
/// The bounded queue between a session's grain turns and its FFmpeg pump. The grain commits into it without
/// waiting; the pump drains it into FFmpeg's stdin outside any grain turn. Memory is bounded by
/// <see cref="Capacity"/> bytes: the session admits only as much of a write as there is room for (see
/// <c>SessionPipeline.Admits</c>), and one write may always enter an empty buffer, so nothing can wedge a session.
/// </summary>
public sealed class SessionBuffer : IDisposable
{
    private readonly Channel<BufferedChunk> _chunks = Channel.CreateUnbounded<BufferedChunk>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = true });

    private readonly Func<bool>? _mayWrite;
    private long _bufferedBytes;

    /// <param name="capacity">The most bytes the buffer holds.</param>
    /// <param name="mayWrite">
    /// Asked before every write to the consumer: false stops the drain (the session's lease is no longer proven, so
    /// not one more byte may reach its FFmpeg, even from a pump that ran on after its process was paused).
    /// </param>
    public SessionBuffer(int capacity, Func<bool>? mayWrite = null)
    {
        Capacity = capacity;
        _mayWrite = mayWrite;
    }

    /// <summary>The most bytes the buffer holds (one chunk may exceed it when the buffer is empty).</summary>
    public int Capacity { get; }

    /// <summary>Bytes committed and not yet written to the consumer.</summary>
    public long BufferedBytes => Interlocked.Read(ref _bufferedBytes);

    /// <summary>True when <paramref name="length"/> more bytes fit now.</summary>
    public bool HasRoomFor(int length)
    {
        var buffered = BufferedBytes;
        return buffered == 0 || buffered + length <= Capacity;
    }

    /// <summary>Copies <paramref name="data"/> in. The caller checked <see cref="HasRoomFor"/>.</summary>
    public void Add(ReadOnlySpan<byte> data)
    {
        if (!TryAdd(data))
        {
            throw new InvalidOperationException("The session buffer is complete.");
        }
    }

    /// <summary>
    /// Copies <paramref name="data"/> in; false when the buffer is complete (its consumer is gone). A producer that
    /// does not own the buffer's end (a simulcast relay's, which its process completes when it exits) uses this.
    /// </summary>
    public bool TryAdd(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return true;
        }

        var array = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(array);
        Interlocked.Add(ref _bufferedBytes, data.Length);
        if (_chunks.Writer.TryWrite(new BufferedChunk(array, data.Length)))
        {
            return true;
        }

        Interlocked.Add(ref _bufferedBytes, -data.Length);
        ArrayPool<byte>.Shared.Return(array);
        return false;
    }

    /// <summary>No more bytes will be added: the consumer sees the end after the last chunk.</summary>
    public void Complete() => _chunks.Writer.TryComplete();

    /// <summary>Writes every chunk, in order, to <paramref name="destination"/> until <see cref="Complete"/>.</summary>
    public async Task DrainToAsync(Stream destination, CancellationToken cancellationToken)
    {
        var reader = _chunks.Reader;
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            while (reader.TryRead(out var chunk))
            {
                try
                {
                    if (_mayWrite?.Invoke() == false)
                    {
                        throw new OperationCanceledException("The session may no longer write to its process.");
                    }

                    await destination.WriteAsync(chunk.Array.AsMemory(0, chunk.Length), cancellationToken);
                }
                finally
                {
                    Release(chunk);
                }
            }

            await destination.FlushAsync(cancellationToken);
        }
    }

    /// <summary>Drops whatever is still queued and returns its memory.</summary>
    public void Dispose()
    {
        Complete();
        DropQueued();
    }

    /// <summary>
    /// Drops the chunks not yet handed to the consumer (a chunk being written finishes). The buffer stays open: a
    /// simulcast relay that fell behind skips its backlog this way.
    /// </summary>
    public void DropQueued()
    {
        while (_chunks.Reader.TryRead(out var chunk))
        {
            Release(chunk);
        }
    }

    private void Release(BufferedChunk chunk)
    {
        Interlocked.Add(ref _bufferedBytes, -chunk.Length);
        ArrayPool<byte>.Shared.Return(chunk.Array);
    }

    private readonly record struct BufferedChunk(byte[] Array, int Length);
}

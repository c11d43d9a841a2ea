using System.Buffers;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// The buffer a connection receives messages into: rented from the shared pool when a message starts, grown for a
/// large message or a batch, and returned once they are handled, so an idle connection holds none.
/// A grain call carries its payload as memory in this buffer, and Orleans reads that memory when it sends the call
/// (or, in the embedded default, the grain reads it in place). A call the connection stopped waiting for (a timed-out
/// attempt, a connection that went away) may still do so later, so the buffer is <see cref="Lend">lent</see> to it:
/// it goes back to the pool only once every such call has ended, and the connection rents a fresh one meanwhile.
/// Otherwise another message's bytes could be read in its place and committed at its offset.
/// </summary>
internal sealed class ReceiveBuffer(int initialSize)
{
    /// <summary>The largest buffer the gateway's own pool keeps; larger ones come from the shared pool.</summary>
    internal const int MaxPooledLength = 128 * 1024;

    /// <summary>How many buffers of each size the gateway's pool keeps.</summary>
    internal const int PooledPerSize = 256;

    // The shared pool keeps a few dozen arrays of a size per processor. With thousands of publishers, more messages
    // than that are in flight at once (each until its grain call returns): one rent in nine missed and allocated a
    // new 64 KiB array, and one return in nine dropped one: most of the gateway's allocation (29 of 42 MB/s with
    // 2,000 publishers), and with it most of its collections. This pool keeps up to PooledPerSize of each size (at
    // most 16 MiB of 64 KiB buffers), as many as are in flight at the busiest moment.
    private static readonly ArrayPool<byte> Messages = ArrayPool<byte>.Create(MaxPooledLength, PooledPerSize);

    private byte[]? _buffer;
    private readonly int _initialSize = initialSize;
    private List<Task>? _lentTo;
    private int _size = initialSize;

    /// <summary>
    /// The buffer, rented at the size this connection's messages needed lately: a publisher whose messages are larger
    /// than the initial size grows its buffer (a copy) once, not at every message.
    /// </summary>
    public byte[] Buffer => _buffer ??= Rent(_size);

    /// <summary>The size the next buffer is rented at.</summary>
    public int Size => _size;

    public bool Grow(int max)
    {
        if (Buffer.Length >= max)
        {
            return false;
        }

        var bigger = Rent(Math.Min(max, Buffer.Length * 2));
        Buffer.CopyTo(bigger, 0);
        Return(Buffer);
        _buffer = bigger;
        _size = Math.Max(_size, bigger.Length);
        return true;
    }

    /// <summary>
    /// Returns the buffer after a batch of <paramref name="used"/> bytes; a size grown for larger messages halves
    /// again (down to the initial size) while messages use less than a quarter of it.
    /// </summary>
    public void Release(int used)
    {
        if (_size > _initialSize && used < _size / 4)
        {
            _size = Math.Max(_initialSize, _size / 2);
        }

        Release();
    }

    /// <summary>A call that may still read the buffer after the connection stopped waiting for it.</summary>
    public void Lend(Task call)
    {
        if (!call.IsCompleted)
        {
            (_lentTo ??= []).Add(call);
        }
    }

    /// <summary>Returns the buffer between messages (an idle connection holds none), or once the calls it was lent to end.</summary>
    public void Release()
    {
        if (_buffer is not null)
        {
            Return(_buffer);
            _buffer = null;
        }
    }

    private void Return(byte[] buffer)
    {
        if (_lentTo is { } calls && calls.Exists(c => !c.IsCompleted))
        {
            _lentTo = null;
            _ = ReturnAfterAsync(buffer, calls);
            return;
        }

        _lentTo = null;
        PoolOf(buffer.Length).Return(buffer);
    }

    private static async Task ReturnAfterAsync(byte[] buffer, List<Task> calls)
    {
        // Their outcomes were already given up on; only their end matters (at the latest the call's response timeout).
        await Task.WhenAll(calls).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        PoolOf(buffer.Length).Return(buffer);
    }

    private static byte[] Rent(int length) => PoolOf(length).Rent(length);

    private static ArrayPool<byte> PoolOf(int length) => length <= MaxPooledLength ? Messages : ArrayPool<byte>.Shared;
}

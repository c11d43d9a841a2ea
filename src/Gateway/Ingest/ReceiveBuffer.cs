using System.Buffers;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// The buffer a connection receives messages into: rented from the shared pool when a message starts, grown for a
/// large message or a batch, and returned once they are handled, so an idle connection holds none.
/// </summary>
internal sealed class ReceiveBuffer(int initialSize)
{
    private byte[]? _buffer;

    public byte[] Buffer => _buffer ??= ArrayPool<byte>.Shared.Rent(initialSize);

    public bool Grow(int max)
    {
        if (Buffer.Length >= max)
        {
            return false;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(max, Buffer.Length * 2));
        Buffer.CopyTo(bigger, 0);
        ArrayPool<byte>.Shared.Return(Buffer);
        _buffer = bigger;
        return true;
    }

    /// <summary>Returns the buffer between messages: an idle connection holds none.</summary>
    public void Release()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}

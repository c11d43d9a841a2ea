using System.Buffers;

namespace LiveStream.Ingest;

/// <summary>
/// The bytes of a <see cref="ChunkWrite"/>. A call between processes serializes them straight from the gateway's
/// receive buffer, and the silo reads them into an array rented from the shared pool (no new array per chunk); the
/// grain copies what it keeps and then <see cref="Release"/>s the payload. A co-hosted call passes the gateway's
/// memory through as it is, with nothing to return.
/// </summary>
[Immutable]
public sealed class ChunkPayload
{
    private byte[]? _rented;

    private ChunkPayload(ReadOnlyMemory<byte> memory, byte[]? rented)
    {
        Memory = memory;
        _rented = rented;
    }

    /// <summary>The bytes (empty once released).</summary>
    public ReadOnlyMemory<byte> Memory { get; private set; }

    /// <summary>The number of bytes.</summary>
    public int Length => Memory.Length;

    /// <summary>True while the bytes live in a pooled array that <see cref="Release"/> returns.</summary>
    public bool IsPooled => Volatile.Read(ref _rented) is not null;

    public static implicit operator ChunkPayload(byte[] bytes) => new(bytes, rented: null);

    public static implicit operator ChunkPayload(ReadOnlyMemory<byte> bytes) => new(bytes, rented: null);

    public static implicit operator ChunkPayload(Memory<byte> bytes) => new(bytes, rented: null);

    /// <summary>A payload of <paramref name="length"/> bytes in a rented array, filled through <paramref name="fill"/>.</summary>
    internal static ChunkPayload Rent(int length, out Span<byte> fill)
    {
        var rented = ArrayPool<byte>.Shared.Rent(length);
        fill = rented.AsSpan(0, length);
        return new ChunkPayload(rented.AsMemory(0, length), rented);
    }

    /// <summary>
    /// Returns a rented array to the pool; the payload is empty from then on. Called once its receiver has copied
    /// what it keeps; a second call, or a call on a payload that was not rented, does nothing.
    /// </summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _rented, null) is { } rented)
        {
            Memory = default;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

using System.Numerics;

namespace LiveStream.Media.Containers;

/// <summary>EBML variable-length integers and elements (RFC 8794), shared by the streaming and the buffered Matroska parsers.</summary>
internal static class Ebml
{
    /// <summary>The length of a vint from its first byte, 1 to 8; 0 for a zero byte, which starts no valid vint.</summary>
    public static int VintLength(byte first) => first == 0 ? 0 : BitOperations.LeadingZeroCount((uint)first) - 23;

    /// <summary>An element ID: the vint with its length marker kept, as IDs are written in specifications.</summary>
    public static uint ReadId(ReadOnlySpan<byte> bytes)
    {
        uint id = 0;
        foreach (var b in bytes)
        {
            id = (id << 8) | b;
        }

        return id;
    }

    /// <summary>A size or track number vint; <paramref name="unknown"/> when all its value bits are set (unknown size).</summary>
    public static long ReadSize(ReadOnlySpan<byte> bytes, out bool unknown)
    {
        var mask = 0xFF >> bytes.Length;
        long value = bytes[0] & mask;
        unknown = value == mask;
        for (var i = 1; i < bytes.Length; i++)
        {
            value = (value << 8) | bytes[i];
            unknown &= bytes[i] == 0xFF;
        }

        return value;
    }

    /// <summary>A big-endian unsigned integer element payload (0 to 8 bytes).</summary>
    public static ulong ReadUnsigned(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > 8)
        {
            throw new MediaFormatException("integer element longer than 8 bytes");
        }

        ulong value = 0;
        foreach (var b in payload)
        {
            value = (value << 8) | b;
        }

        return value;
    }

    /// <summary>Reads one child of a master element held whole in memory.</summary>
    /// <returns>The child's ID; <paramref name="payload"/> is its content and <paramref name="offset"/> moves past it.</returns>
    public static uint ReadElement(ReadOnlySpan<byte> data, scoped ref int offset, out ReadOnlySpan<byte> payload)
    {
        var idLength = VintLength(data[offset]);
        if (idLength is 0 or > 4)
        {
            throw new MediaFormatException("invalid element ID");
        }

        if (data.Length - offset <= idLength)
        {
            throw new MediaFormatException("truncated element header");
        }

        var sizeLength = VintLength(data[offset + idLength]);
        if (sizeLength == 0)
        {
            throw new MediaFormatException("invalid element size");
        }

        var start = offset + idLength + sizeLength;
        if (start > data.Length)
        {
            throw new MediaFormatException("truncated element header");
        }

        var id = ReadId(data.Slice(offset, idLength));
        var size = ReadSize(data.Slice(offset + idLength, sizeLength), out var unknown);

        // Only Segment and Cluster may have an unknown size, and neither is ever buffered whole.
        if (unknown || size > data.Length - start)
        {
            throw new MediaFormatException($"element 0x{id:X} overruns its parent");
        }

        payload = data.Slice(start, (int)size);
        offset = start + (int)size;
        return id;
    }
}

using System.Buffers.Binary;

namespace LiveStream.Media.Containers;

/// <summary>Reads boxes out of a parent held whole in memory (<c>moov</c>, <c>moof</c> and their children).</summary>
internal static class Mp4Box
{
    /// <returns>The box type; <paramref name="body"/> is its content and <paramref name="offset"/> moves past it.</returns>
    public static uint Read(ReadOnlySpan<byte> data, scoped ref int offset, out ReadOnlySpan<byte> body)
    {
        var remaining = data.Length - offset;
        if (remaining < 8)
        {
            throw new MediaFormatException("truncated box header");
        }

        long size = BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
        var type = BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 4)..]);
        var headerLength = 8;
        if (size == 1)
        {
            if (remaining < 16)
            {
                throw new MediaFormatException("truncated box header");
            }

            var large = BinaryPrimitives.ReadUInt64BigEndian(data[(offset + 8)..]);
            size = large > (ulong)remaining ? long.MaxValue : (long)large;
            headerLength = 16;
        }
        else if (size == 0)
        {
            // Size 0 means "to the end of the parent".
            size = remaining;
        }

        if (size < headerLength || size > remaining)
        {
            throw new MediaFormatException($"box '{Mp4Types.Format(type)}' has an invalid size");
        }

        body = data.Slice(offset + headerLength, (int)size - headerLength);
        offset += (int)size;
        return type;
    }

    /// <summary>A big-endian uint32 at <paramref name="at"/>, or a refusal naming the box that is too short.</summary>
    public static uint ReadUInt32(ReadOnlySpan<byte> body, int at, uint type)
    {
        if (at < 0 || body.Length - at < 4)
        {
            throw new MediaFormatException($"box '{Mp4Types.Format(type)}' is too short");
        }

        return BinaryPrimitives.ReadUInt32BigEndian(body[at..]);
    }

    /// <summary>A big-endian uint64 at <paramref name="at"/>, or a refusal naming the box that is too short.</summary>
    public static ulong ReadUInt64(ReadOnlySpan<byte> body, int at, uint type)
    {
        if (at < 0 || body.Length - at < 8)
        {
            throw new MediaFormatException($"box '{Mp4Types.Format(type)}' is too short");
        }

        return BinaryPrimitives.ReadUInt64BigEndian(body[at..]);
    }
}

using System.Numerics;
using System.Buffers.Binary;

namespace LiveStream.Grains.Tests.Media;

/// <summary>Builds small Matroska streams for the cases the captures lack (BlockGroups, another TimestampScale).</summary>
internal static class EbmlWriter
{
    /// <summary>An element with a minimal-length size vint.</summary>
    public static byte[] Element(uint id, params byte[][] children)
    {
        byte[] payload = [.. children.SelectMany(c => c)];
        return [.. Id(id), .. Size(payload.Length), .. payload];
    }

    /// <summary>A master element of unknown size (all ones, 8 bytes), as MediaRecorder writes Segment and Cluster.</summary>
    public static byte[] UnknownSize(uint id) => [.. Id(id), 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

    public static byte[] UInt(uint id, ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return Element(id, bytes.AsSpan(Math.Min(7, BitOperations.LeadingZeroCount(value) / 8)).ToArray());
    }

    public static byte[] Text(uint id, string value) => Element(id, System.Text.Encoding.ASCII.GetBytes(value));

    /// <summary>SimpleBlock or Block payload: 1-byte track number, relative timestamp, flags, a few frame bytes.</summary>
    public static byte[] Block(uint id, int track, short relative, byte flags)
    {
        var header = new byte[4];
        header[0] = (byte)(0x80 | track);
        BinaryPrimitives.WriteInt16BigEndian(header.AsSpan(1), relative);
        header[3] = flags;
        return Element(id, header, [1, 2, 3, 4, 5]);
    }

    private static byte[] Id(uint id) => id > 0xFFFFFF ? [(byte)(id >> 24), (byte)(id >> 16), (byte)(id >> 8), (byte)id]
        : id > 0xFFFF ? [(byte)(id >> 16), (byte)(id >> 8), (byte)id]
        : id > 0xFF ? [(byte)(id >> 8), (byte)id]
        : [(byte)id];

    private static byte[] Size(int size) => size < 0x7F ? [(byte)(0x80 | size)]
        : size < 0x3FFF ? [(byte)(0x40 | (size >> 8)), (byte)size]
        : [0x10, (byte)(size >> 16), (byte)(size >> 8), (byte)size];
}

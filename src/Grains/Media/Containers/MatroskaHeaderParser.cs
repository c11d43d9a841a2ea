using System.Text;

namespace LiveStream.Media.Containers;

/// <summary>Parses the small Matroska elements the reader buffers whole: the EBML header, Info and Tracks.</summary>
internal static class MatroskaHeaderParser
{
    private const long DefaultTimestampScale = 1_000_000;

    /// <summary>Accepts only the DocTypes browsers write, so another EBML document is refused before any cluster.</summary>
    public static void CheckEbmlHeader(ReadOnlySpan<byte> payload)
    {
        var offset = 0;
        while (offset < payload.Length)
        {
            if (Ebml.ReadElement(payload, ref offset, out var value) != MatroskaIds.DocType)
            {
                continue;
            }

            // EBML strings may be padded with zero bytes.
            var docType = value.TrimEnd((byte)0);
            if (docType.SequenceEqual("webm"u8) || docType.SequenceEqual("matroska"u8))
            {
                return;
            }

            throw new MediaFormatException($"unsupported DocType '{Printable(docType)}'");
        }

        throw new MediaFormatException("EBML header without DocType");
    }

    public static long ReadTimestampScale(ReadOnlySpan<byte> info)
    {
        var offset = 0;
        while (offset < info.Length)
        {
            if (Ebml.ReadElement(info, ref offset, out var value) == MatroskaIds.TimestampScale)
            {
                var scale = Ebml.ReadUnsigned(value);

                // Zero would make every timestamp zero; more than a second per tick is no real recording.
                if (scale is 0 or > 1_000_000_000)
                {
                    throw new MediaFormatException("invalid TimestampScale");
                }

                return (long)scale;
            }
        }

        return DefaultTimestampScale;
    }

    public static TrackInfo[] ReadTracks(ReadOnlySpan<byte> tracks, ContainerLimits limits)
    {
        var result = new List<TrackInfo>();
        var offset = 0;
        while (offset < tracks.Length)
        {
            if (Ebml.ReadElement(tracks, ref offset, out var entry) != MatroskaIds.TrackEntry)
            {
                continue;
            }

            if (result.Count == limits.MaxTracks)
            {
                throw new MediaFormatException($"more than {limits.MaxTracks} tracks");
            }

            var track = ReadTrackEntry(entry);
            if (result.Exists(t => t.Number == track.Number))
            {
                throw new MediaFormatException($"track {track.Number} declared twice");
            }

            result.Add(track);
        }

        return result.Count > 0 ? [.. result] : throw new MediaFormatException("Tracks without a track");
    }

    private static TrackInfo ReadTrackEntry(ReadOnlySpan<byte> entry)
    {
        ulong number = 0;
        ulong type = 0;
        string? codecId = null;
        byte[] codecPrivate = [];
        ulong width = 0;
        ulong height = 0;
        var offset = 0;
        while (offset < entry.Length)
        {
            switch (Ebml.ReadElement(entry, ref offset, out var value))
            {
                case MatroskaIds.TrackNumber:
                    number = Ebml.ReadUnsigned(value);
                    break;
                case MatroskaIds.TrackType:
                    type = Ebml.ReadUnsigned(value);
                    break;
                case MatroskaIds.CodecId:
                    codecId = Encoding.ASCII.GetString(value.TrimEnd((byte)0));
                    break;
                case MatroskaIds.CodecPrivate:
                    codecPrivate = value.ToArray();
                    break;
                case MatroskaIds.Video:
                    (width, height) = ReadPixelSize(value);
                    break;
                default:
                    break;
            }
        }

        // Block headers carry the track number as a vint of at most 8 bytes, so larger numbers can never be referenced.
        if (number is 0 or > (1UL << 56) - 2)
        {
            throw new MediaFormatException("track without a valid TrackNumber");
        }

        if (codecId is null)
        {
            throw new MediaFormatException($"track {number} without CodecID");
        }

        var kind = type switch
        {
            1 => TrackKind.Video,
            2 => TrackKind.Audio,
            _ when type == 0 && codecId.StartsWith("V_", StringComparison.Ordinal) => TrackKind.Video,
            _ when type == 0 && codecId.StartsWith("A_", StringComparison.Ordinal) => TrackKind.Audio,
            _ => TrackKind.Other,
        };
        return new TrackInfo((long)number, kind, CodecNames.FromMatroska(codecId), codecPrivate, (int)Math.Min(width, ushort.MaxValue), (int)Math.Min(height, ushort.MaxValue));
    }

    private static (ulong Width, ulong Height) ReadPixelSize(ReadOnlySpan<byte> video)
    {
        ulong width = 0;
        ulong height = 0;
        var offset = 0;
        while (offset < video.Length)
        {
            switch (Ebml.ReadElement(video, ref offset, out var value))
            {
                case MatroskaIds.PixelWidth:
                    width = Ebml.ReadUnsigned(value);
                    break;
                case MatroskaIds.PixelHeight:
                    height = Ebml.ReadUnsigned(value);
                    break;
                default:
                    break;
            }
        }

        return (width, height);
    }

    private static string Printable(ReadOnlySpan<byte> text)
    {
        var builder = new StringBuilder();
        foreach (var b in text[..Math.Min(text.Length, 16)])
        {
            builder.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        }

        return builder.ToString();
    }
}

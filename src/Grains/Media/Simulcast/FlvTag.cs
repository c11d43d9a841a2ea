namespace LiveStream.Media;

/// <summary>What an FLV tag holds, as far as joining a stream in the middle is concerned.</summary>
internal enum FlvTagKind
{
    Other,
    Metadata,
    VideoConfig,
    AudioConfig,
    VideoKeyframe,
    VideoFrame,
    Audio,
}

/// <summary>
/// The FLV layout the encoder writes on stdout: a 9-byte header and a 4-byte PreviousTagSize, then tags of an
/// 11-byte header, the data and a 4-byte PreviousTagSize. A unit here is a tag with its trailing size, so units can
/// be dropped or skipped whole.
/// </summary>
internal static class FlvTag
{
    /// <summary>The file header and PreviousTagSize0.</summary>
    public const int FileHeaderLength = 13;

    public const int TagHeaderLength = 11;

    public const int TrailerLength = 4;

    /// <summary>True when <paramref name="header"/> starts an FLV file.</summary>
    public static bool IsFileHeader(ReadOnlySpan<byte> header) =>
        header.Length >= FileHeaderLength && header[0] == (byte)'F' && header[1] == (byte)'L' && header[2] == (byte)'V';

    /// <summary>True when the file header announces a video track.</summary>
    public static bool HasVideo(ReadOnlySpan<byte> header) => (header[4] & 0x01) != 0;

    /// <summary>The data size a tag header announces.</summary>
    public static int DataSize(ReadOnlySpan<byte> tagHeader) => (tagHeader[1] << 16) | (tagHeader[2] << 8) | tagHeader[3];

    public static FlvTagKind Classify(ReadOnlySpan<byte> unit)
    {
        var data = unit[TagHeaderLength..^TrailerLength];
        switch (unit[0] & 0x1F)
        {
            case 18:
                return FlvTagKind.Metadata;
            case 9 when data.Length >= 2:
                // AVC: an AVCPacketType of 0 is the decoder configuration (SPS/PPS), which a new reader needs first.
                if ((data[0] & 0x0F) == 7 && data[1] == 0)
                {
                    return FlvTagKind.VideoConfig;
                }

                return (data[0] >> 4) == 1 ? FlvTagKind.VideoKeyframe : FlvTagKind.VideoFrame;
            case 8 when data.Length >= 2:
                return (data[0] >> 4) == 10 && data[1] == 0 ? FlvTagKind.AudioConfig : FlvTagKind.Audio;
            default:
                return FlvTagKind.Other;
        }
    }
}

/// <summary>What a relay needs to start reading the current encoder stream mid-way: the header and the configuration tags.</summary>
internal sealed class FlvStreamHead(byte[] fileHeader)
{
    public byte[] FileHeader { get; } = fileHeader;

    public bool HasVideo { get; } = FlvTag.HasVideo(fileHeader);

    public byte[]? Metadata { get; set; }

    public byte[]? VideoConfig { get; set; }

    public byte[]? AudioConfig { get; set; }

    /// <summary>True when a reader may start with <paramref name="kind"/>: a video keyframe, or any audio frame when there is no video.</summary>
    public bool IsJoinPoint(FlvTagKind kind) => HasVideo ? kind == FlvTagKind.VideoKeyframe : kind == FlvTagKind.Audio;

    /// <summary>What a new reader gets before its first frame.</summary>
    public IEnumerable<byte[]> Preamble()
    {
        yield return FileHeader;
        foreach (var unit in new[] { Metadata, VideoConfig, AudioConfig })
        {
            if (unit is not null)
            {
                yield return unit;
            }
        }
    }
}

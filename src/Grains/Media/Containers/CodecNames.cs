namespace LiveStream.Media.Containers;

/// <summary>Maps Matroska CodecIDs and MP4 sample entry types to one vocabulary, so callers need not know the container.</summary>
internal static class CodecNames
{
    public static string FromMatroska(string codecId) => codecId switch
    {
        "V_MPEG4/ISO/AVC" => "h264",
        "V_VP8" => "vp8",
        "V_VP9" => "vp9",
        "V_AV1" => "av1",
        "A_OPUS" => "opus",
        "A_AAC" => "aac",
        _ when codecId.StartsWith("A_AAC/", StringComparison.Ordinal) => "aac",
        _ => codecId.ToLowerInvariant(),
    };

    public static string FromMp4(uint sampleEntry) => sampleEntry switch
    {
        Mp4Types.Avc1 or Mp4Types.Avc3 => "h264",
        Mp4Types.Vp08 => "vp8",
        Mp4Types.Vp09 => "vp9",
        Mp4Types.Av01 => "av1",
        Mp4Types.Opus => "opus",
        Mp4Types.Mp4a => "aac",
        _ => Mp4Types.Format(sampleEntry).ToLowerInvariant(),
    };
}

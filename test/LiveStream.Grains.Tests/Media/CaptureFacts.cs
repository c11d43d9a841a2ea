using LiveStream.Media.Containers;

namespace LiveStream.Grains.Tests.Media;

/// <summary>What <c>test/media/README.md</c> says of each capture: container, codecs in track order, video frames, keyframes.</summary>
internal sealed record CaptureFacts(string Name, ContainerKind Kind, string[] Codecs, int VideoFrames, int Keyframes)
{
    public static readonly CaptureFacts[] All =
    [
        new("vp8-opus", ContainerKind.Matroska, ["vp8", "opus"], 400, 20),
        new("vp9-opus", ContainerKind.Matroska, ["vp9", "opus"], 400, 20),
        new("h264-opus-mkv", ContainerKind.Matroska, ["h264", "opus"], 399, 20),
        new("h264-opus-mkv-slice1000-kfdefault", ContainerKind.Matroska, ["opus", "h264"], 400, 4),
        new("fmp4-avc1-opus", ContainerKind.Mp4, ["h264", "opus"], 400, 20),
        new("audio-only-opus", ContainerKind.Matroska, ["opus"], 0, 0),
        new("vp8-opus-restart/a", ContainerKind.Matroska, ["vp8", "opus"], 200, 10),
        new("vp8-opus-restart/b", ContainerKind.Matroska, ["vp8", "opus"], 200, 10),
        new("h264-opus-restart/a", ContainerKind.Matroska, ["h264", "opus"], 200, 10),
        new("h264-opus-restart/b", ContainerKind.Matroska, ["h264", "opus"], 200, 10),
        new("fmp4-avc1-opus-restart/a", ContainerKind.Mp4, ["opus", "h264"], 159, 8),
        new("fmp4-avc1-opus-restart/b", ContainerKind.Mp4, ["h264", "opus"], 160, 8),
        new("h264-opus-cut/a", ContainerKind.Matroska, ["h264", "opus"], 116, 6),
        new("h264-opus-cut/b", ContainerKind.Matroska, ["h264", "opus"], 160, 8),
        new("vp8-opus-cut/a", ContainerKind.Matroska, ["opus", "vp8"], 116, 6),
        new("vp8-opus-cut/b", ContainerKind.Matroska, ["vp8", "opus"], 160, 8),
    ];

    public static CaptureFacts Of(string name) => All.Single(f => f.Name == name);
}

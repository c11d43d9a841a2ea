using LiveStream.Media.Containers;
using LiveStream.Testing;

namespace LiveStream.Grains.Tests.Media;

/// <summary>The MediaRecorder captures of <c>test/media</c>, loaded once, and helpers to read them.</summary>
internal static class Captures
{
    public static readonly string[] Names =
    [
        "vp8-opus",
        "vp9-opus",
        "h264-opus-mkv",
        "h264-opus-mkv-slice1000-kfdefault",
        "fmp4-avc1-opus",
        "audio-only-opus",
        "vp8-opus-restart/a",
        "vp8-opus-restart/b",
        "h264-opus-restart/a",
        "h264-opus-restart/b",
        "fmp4-avc1-opus-restart/a",
        "fmp4-avc1-opus-restart/b",
        "h264-opus-cut/a",
        "h264-opus-cut/b",
        "vp8-opus-cut/a",
        "vp8-opus-cut/b",
    ];

    private static readonly Dictionary<string, MediaCapture> Loaded = [];

    public static TheoryData<string> All => [.. Names];

    public static MediaCapture Get(string name)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(name, out var capture))
            {
                capture = MediaCapture.Load(name);
                Loaded[name] = capture;
            }

            return capture;
        }
    }

    /// <summary>Reads <paramref name="bytes"/> cut into pieces of the given sizes (the rest in one last piece).</summary>
    public static RecordingSink Read(ReadOnlySpan<byte> bytes, IEnumerable<int> pieceSizes)
    {
        var sink = new RecordingSink();
        var reader = new ContainerReader(sink);
        sink.Attach(reader);
        var offset = 0;
        foreach (var size in pieceSizes)
        {
            var take = Math.Min(size, bytes.Length - offset);
            reader.Push(bytes.Slice(offset, take));
            offset += take;
        }

        reader.Push(bytes[offset..]);
        Assert.Equal(bytes.Length, reader.Position);
        return sink;
    }

    public static RecordingSink ReadWhole(ReadOnlySpan<byte> bytes) => Read(bytes, []);
}

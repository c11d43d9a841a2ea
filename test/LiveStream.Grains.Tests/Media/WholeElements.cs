using LiveStream.Media.Containers;

namespace LiveStream.Grains.Tests.Media;

/// <summary>What FFmpeg is handed of a byte stream: everything up to the end of its last complete element.</summary>
internal static class WholeElements
{
    public static byte[] Of(byte[] bytes)
    {
        var reader = new ContainerReader(new NullSink());
        reader.Push(bytes);
        return bytes[..(int)reader.LastBoundary];
    }
}

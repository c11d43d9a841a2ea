using LiveStream.Media.Containers;
using LiveStream.Testing;
using Xunit.Abstractions;

namespace LiveStream.Grains.Tests.Media;

/// <summary>
/// What handing FFmpeg whole elements only holds back, on the real captures at their real chunk boundaries: at most
/// the one element still arriving when a chunk ends, which FFmpeg could not have used yet.
/// </summary>
public sealed class WholeElementHoldTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("vp8-opus")]
    [InlineData("vp9-opus")]
    [InlineData("h264-opus-mkv")]
    [InlineData("fmp4-avc1-opus")]
    [InlineData("audio-only-opus")]
    public void At_a_chunk_boundary_only_the_element_still_arriving_is_held(string name)
    {
        var capture = MediaCapture.Load(name);
        var sink = new RecordingSink();
        var reader = new ContainerReader(sink);
        long position = 0;
        var held = new List<long>();
        foreach (var chunk in capture.Chunks())
        {
            reader.Push(chunk.Span);
            position += chunk.Length;
            held.Add(position - reader.LastBoundary);
        }

        var cut = held.Count(h => h > 0);
        output.WriteLine($"{name}: {held.Count} chunks, {cut} end inside an element; held at a chunk end: max {held.Max()} bytes, mean {held.Average():0} bytes");

        // MediaRecorder ends its chunks between frames (Chromium at most one header byte into the next element): no
        // frame FFmpeg could decode ever waits for the next chunk.
        Assert.All(held, h => Assert.InRange(h, 0, 16));
    }
}

using LiveStream.Media.Containers;
using Xunit.Abstractions;

namespace LiveStream.Grains.Tests.Media;

/// <summary>
/// Once the init segment is read, the reader allocates nothing, and its work does not depend on how the bytes are
/// split. How fast it reads is a benchmark's question (<c>ContainerReaderBenchmarks</c> in <c>./bench.sh</c>), not a
/// timed assertion's.
/// </summary>
public sealed class ContainerReaderPerformanceTests(ITestOutputHelper output)
{
    private const long MaxSteadyStateAllocatedBytes = 2048;

    [Theory(Timeout = 60_000)]
    [InlineData("vp8-opus")]
    [InlineData("h264-opus-mkv-slice1000-kfdefault")]
    [InlineData("fmp4-avc1-opus")]
    [InlineData("audio-only-opus")]
    public Task After_the_init_segment_pushing_the_original_chunks_allocates_almost_nothing(string name) => Task.Run(() =>
    {
        var capture = Captures.Get(name);
        var chunks = capture.Chunks().ToList();
        ReadChunks(new ContainerReader(new NullSink()), chunks, 0);

        // Chunk 0 holds the init segment in every capture.
        var sink = new NullSink();
        var reader = new ContainerReader(sink);
        reader.Push(chunks[0].Span);
        Assert.NotEmpty(reader.Tracks);

        var before = GC.GetAllocatedBytesForCurrentThread();
        ReadChunks(reader, chunks, 1);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        output.WriteLine($"{name}: {allocated} bytes allocated over {chunks.Count - 1} chunks, {sink.Frames} frames");
        Assert.True(allocated < MaxSteadyStateAllocatedBytes, $"{allocated} bytes allocated");
        Assert.Equal(capture.Bytes.Length, reader.Position);
    });

    [Theory(Timeout = 60_000)]
    [InlineData("vp8-opus")]
    [InlineData("fmp4-avc1-opus")]
    public Task Reading_one_byte_at_a_time_finds_what_reading_the_original_chunks_finds(string name) => Task.Run(() =>
    {
        var capture = Captures.Get(name);
        var whole = new NullSink();
        var chunked = new ContainerReader(whole);
        ReadChunks(chunked, [.. capture.Chunks()], 0);

        var bytewise = new NullSink();
        var reader = new ContainerReader(bytewise);
        for (var i = 0; i < capture.Bytes.Length; i++)
        {
            reader.Push(capture.Bytes.AsSpan(i, 1));
        }

        output.WriteLine($"{name}: {whole.Frames} frames, {whole.Fragments} fragments");
        Assert.True(whole.Frames > 0);
        Assert.Equal(whole.Frames, bytewise.Frames);
        Assert.Equal(whole.Fragments, bytewise.Fragments);
        Assert.Equal(capture.Bytes.Length, reader.Position);
    });

    private static void ReadChunks(ContainerReader reader, List<ReadOnlyMemory<byte>> chunks, int first)
    {
        for (var i = first; i < chunks.Count; i++)
        {
            reader.Push(chunks[i].Span);
        }
    }
}

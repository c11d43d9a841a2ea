using System.Diagnostics;
using LiveStream.Media.Containers;
using Xunit.Abstractions;

namespace LiveStream.Grains.Tests.Media;

/// <summary>Once the init segment is read, the reader allocates nothing, and it keeps up with many streams per core.</summary>
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
    [InlineData("vp8-opus", 200)]
    [InlineData("fmp4-avc1-opus", 200)]
    public Task Reading_in_the_original_chunks_is_fast(string name, int rounds) => Task.Run(() =>
    {
        var capture = Captures.Get(name);
        var chunks = capture.Chunks().ToList();
        ReadChunks(new ContainerReader(new NullSink()), chunks, 0);

        var stopwatch = Stopwatch.StartNew();
        for (var round = 0; round < rounds; round++)
        {
            ReadChunks(new ContainerReader(new NullSink()), chunks, 0);
        }

        stopwatch.Stop();
        var megabytes = (double)capture.Bytes.Length * rounds / (1 << 20);
        var perSecond = megabytes / stopwatch.Elapsed.TotalSeconds;
        output.WriteLine($"{name} in original chunks: {megabytes:F0} MiB in {stopwatch.ElapsedMilliseconds} ms = {perSecond:F0} MiB/s");

        // A 1 Mbit/s stream is 0.125 MB/s; even a debug build must keep up with thousands of them per core.
        Assert.True(perSecond > 100, $"{perSecond:F0} MiB/s");
    });

    [Fact(Timeout = 60_000)]
    public Task Reading_one_byte_at_a_time_is_fast_enough() => Task.Run(() =>
    {
        var bytes = Captures.Get("vp8-opus").Bytes;
        var reader = new ContainerReader(new NullSink());

        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < bytes.Length; i++)
        {
            reader.Push(bytes.AsSpan(i, 1));
        }

        stopwatch.Stop();
        var perSecond = bytes.Length / stopwatch.Elapsed.TotalSeconds / (1 << 20);
        output.WriteLine($"vp8-opus one byte at a time: {bytes.Length} pushes in {stopwatch.ElapsedMilliseconds} ms = {perSecond:F1} MiB/s");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10));
    });

    private static void ReadChunks(ContainerReader reader, List<ReadOnlyMemory<byte>> chunks, int first)
    {
        for (var i = first; i < chunks.Count; i++)
        {
            reader.Push(chunks[i].Span);
        }
    }
}

using BenchmarkDotNet.Attributes;
using LiveStream.Media.Containers;
using LiveStream.Testing;

namespace LiveStream.Benchmarks;

/// <summary>The streaming container reader over real captures, fed in their original MediaRecorder chunks.</summary>
[MemoryDiagnoser]
public class ContainerReaderBenchmarks
{
    private byte[][] _chunks = [];

    [Params("vp8-opus", "h264-opus-mkv", "fmp4-avc1-opus")]
    public string Capture { get; set; } = "vp8-opus";

    /// <summary>Bytes per operation, for MB/s.</summary>
    public long Bytes => _chunks.Sum(c => (long)c.Length);

    [GlobalSetup]
    public void Setup() => _chunks = [.. MediaCapture.Load(Capture).Chunks().Select(c => c.ToArray())];

    [Benchmark(Description = "read whole capture (init + every chunk)")]
    public long ReadCapture()
    {
        var reader = new ContainerReader(NullSink.Instance);
        foreach (var chunk in _chunks)
        {
            reader.Push(chunk);
        }

        return reader.Position;
    }

    private sealed class NullSink : IContainerSink
    {
        public static readonly NullSink Instance = new();

        public void OnRecordingStart(long offset, ContainerKind kind)
        {
        }

        public void OnInitSegment(long start, long end, IReadOnlyList<TrackInfo> tracks)
        {
        }

        public void OnFragment(long offset, bool startsWithKeyframe, long timestampMs)
        {
        }

        public void OnClusterTimestamp(long payloadOffset, int payloadLength, long value)
        {
        }


        public void OnFragmentField(long offset, FragmentField field, long track, long value)

        {

        }

        public void OnFrame(long track, long timestampMs, bool keyframe)
        {
        }
    }
}

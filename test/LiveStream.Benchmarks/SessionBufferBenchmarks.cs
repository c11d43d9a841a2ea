using LiveStream.Media;
using BenchmarkDotNet.Attributes;
using LiveStream.Sessions;

namespace LiveStream.Benchmarks;

/// <summary>The grain side of the hot path: copying a chunk into the bounded buffer and draining it to FFmpeg's stdin.</summary>
[MemoryDiagnoser]
public class SessionBufferBenchmarks
{
    private readonly byte[] _chunk = new byte[64 * 1024];

    [Benchmark(Description = "commit 64 KiB chunk + drain")]
    public async Task CommitAndDrain()
    {
        using var buffer = new SessionBuffer(1024 * 1024);
        for (var i = 0; i < 16; i++)
        {
            buffer.Add(_chunk);
        }

        buffer.Complete();
        await buffer.DrainToAsync(Stream.Null, CancellationToken.None);
    }
}

using System.Buffers;
using BenchmarkDotNet.Attributes;
using LiveStream.Ingest;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Cloning;

namespace LiveStream.Benchmarks;

/// <summary>
/// The grain call's chunk payload through Orleans' serializer. A call between grains (or from a gateway) in the same
/// silo process only deep-copies its arguments: <c>ChunkWrite</c> is <c>[Immutable]</c>, so the copier hands the
/// same object over; a mutable message with a <c>byte[]</c> would be copied whole. A call to another silo (the
/// standalone gateway → silo hop) always serializes and deserializes the payload; the silo reads it into a pooled
/// array (<see cref="ChunkPayload"/>), where a <c>ReadOnlyMemory&lt;byte&gt;</c> field would get a new array per chunk.
/// </summary>
[MemoryDiagnoser]
public class ChunkCopyBenchmarks
{
    private ServiceProvider _services = null!;
    private DeepCopier<ChunkWrite> _immutableCopier = null!;
    private DeepCopier<MutableChunkWrite> _mutableCopier = null!;
    private Serializer<ChunkWrite> _serializer = null!;
    private Serializer<UnpooledChunkWrite> _unpooledSerializer = null!;
    private UnpooledChunkWrite _unpooled = null!;
    private ChunkWrite _immutable = null!;
    private MutableChunkWrite _mutable = null!;
    private ArrayBufferWriter<byte> _wire = null!;

    [Params(62_500)]
    public int ChunkBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        _immutableCopier = _services.GetRequiredService<DeepCopier<ChunkWrite>>();
        _mutableCopier = _services.GetRequiredService<DeepCopier<MutableChunkWrite>>();
        _serializer = _services.GetRequiredService<Serializer<ChunkWrite>>();
        _unpooledSerializer = _services.GetRequiredService<Serializer<UnpooledChunkWrite>>();
        var data = new byte[ChunkBytes];
        Random.Shared.NextBytes(data);
        _immutable = new ChunkWrite(1, 0, data);
        _mutable = new MutableChunkWrite(1, 0, data);
        _unpooled = new UnpooledChunkWrite(1, 0, data);
        _wire = new ArrayBufferWriter<byte>(ChunkBytes + 1024);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true, Description = "local call: deep copy of [Immutable] ChunkWrite (no copy)")]
    public object CopyImmutable() => _immutableCopier.Copy(_immutable)!;

    [Benchmark(Description = "local call: deep copy of a mutable record with byte[]")]
    public object CopyMutable() => _mutableCopier.Copy(_mutable)!;

    [Benchmark(Description = "remote call: serialize + deserialize ChunkWrite, payload released as the grain does")]
    public int SerializeRoundTrip()
    {
        _wire.ResetWrittenCount();
        _serializer.Serialize(_immutable, _wire);
        var received = _serializer.Deserialize(_wire.WrittenMemory)!;
        var length = received.Data.Length;
        received.Data.Release();
        return length;
    }

    [Benchmark(Description = "remote call: serialize + deserialize a record with ReadOnlyMemory<byte> (a new array per chunk)")]
    public object SerializeRoundTripUnpooled()
    {
        _wire.ResetWrittenCount();
        _unpooledSerializer.Serialize(_unpooled, _wire);
        return _unpooledSerializer.Deserialize(_wire.WrittenMemory)!;
    }
}

/// <summary><c>ChunkWrite</c> without <c>[Immutable]</c> and with a <c>byte[]</c>: what the copier does to a message it cannot trust.</summary>
[GenerateSerializer, Alias("livestream.bench.MutableChunkWrite")]
public sealed record MutableChunkWrite(
    [property: Id(0)] int Epoch,
    [property: Id(1)] long Offset,
    [property: Id(2)] byte[] Data);

/// <summary><c>ChunkWrite</c> as it was before <see cref="ChunkPayload"/>: Orleans reads the bytes into a new array.</summary>
[GenerateSerializer, Immutable, Alias("livestream.bench.UnpooledChunkWrite")]
public sealed record UnpooledChunkWrite(
    [property: Id(0)] int Epoch,
    [property: Id(1)] long Offset,
    [property: Id(2)] ReadOnlyMemory<byte> Data);

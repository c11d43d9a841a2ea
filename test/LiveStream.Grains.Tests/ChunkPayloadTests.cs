using LiveStream.Ingest;
using LiveStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace LiveStream.Grains.Tests;

/// <summary>A chunk's bytes cross the gateway → silo hop into pooled memory, and the grain gives that memory back.</summary>
[Collection(FakeMediaCluster.Name)]
public sealed class ChunkPayloadTests(FakeMediaClusterFixture fixture) : IDisposable
{
    private static readonly MediaCapture Audio = MediaCapture.Load("audio-only-opus");

    private readonly ServiceProvider _serializers = new ServiceCollection().AddSerializer().BuildServiceProvider();

    public void Dispose() => _serializers.Dispose();

    [Fact]
    public void A_received_chunk_lands_in_a_pooled_array_with_the_bytes_sent_and_is_empty_once_released()
    {
        var sent = Audio.Bytes[..62_500];

        var received = RoundTrip(new ChunkWrite(3, 1234, sent));

        Assert.Equal((3, 1234L), (received.Epoch, received.Offset));
        Assert.True(received.Data.IsPooled);
        Assert.Equal(sent, received.Data.Memory.ToArray());
        received.Data.Release();
        Assert.False(received.Data.IsPooled);
        Assert.Equal(0, received.Data.Length);
        received.Data.Release();
    }

    [Fact]
    public void A_gateway_or_silo_of_the_previous_version_reads_and_writes_the_same_bytes_on_the_wire()
    {
        // Before ChunkPayload the field was a ReadOnlyMemory<byte>: a rolling deploy mixes both, so the wire format
        // must be the same in both directions.
        var bytes = Audio.Bytes[..5000];
        var earlier = _serializers.GetRequiredService<Serializer<EarlierChunkWrite>>();
        var current = _serializers.GetRequiredService<Serializer<ChunkWrite>>();
        var earlierWire = earlier.SerializeToArray(new EarlierChunkWrite(2, 77, bytes));
        var currentWire = current.SerializeToArray(new ChunkWrite(2, 77, bytes));

        var fromEarlier = current.Deserialize(earlierWire)!;
        var fromCurrent = earlier.Deserialize(currentWire)!;

        Assert.Equal(earlierWire, currentWire);
        Assert.Equal((2, 77L), (fromEarlier.Epoch, fromEarlier.Offset));
        Assert.Equal(bytes, fromEarlier.Data.Memory.ToArray());
        Assert.Equal((2, 77L), (fromCurrent.Epoch, fromCurrent.Offset));
        Assert.Equal(bytes, fromCurrent.Data.ToArray());
        fromEarlier.Data.Release();
    }

    [Fact(Timeout = 30_000)]
    public async Task The_grain_returns_a_pooled_payload_after_the_write_whatever_its_outcome()
    {
        var (grain, hash) = await StreamFactory.CreateAsync(fixture.Client);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        // A call made inside the silo hands the grain this very payload (ChunkWrite is immutable), as a remote call
        // hands it the one the silo deserialized.
        var local = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>().GetGrain<IStreamGrain>(grain.GetPrimaryKeyString());
        var committed = RoundTrip(new ChunkWrite(session.Epoch, 0, Audio.Bytes[..4000]));
        var gap = RoundTrip(new ChunkWrite(session.Epoch, 9000, Audio.Bytes[..100]));
        var staleEpoch = RoundTrip(new ChunkWrite(session.Epoch - 1, 4000, Audio.Bytes[4000..4100]));

        var results = new[]
        {
            await local.WriteAsync(committed),
            await local.WriteAsync(gap),
            await local.WriteAsync(staleEpoch),
        };

        Assert.Equal([WriteOutcome.Committed, WriteOutcome.Gap, WriteOutcome.Closed], results.Select(r => r.Outcome));
        Assert.All(new[] { committed, gap, staleEpoch }, w => Assert.False(w.Data.IsPooled));
        Assert.Equal(4000, (await grain.GetSessionAsync(session.SessionId!))!.BytesIngested);
    }

    private ChunkWrite RoundTrip(ChunkWrite write)
    {
        var serializer = _serializers.GetRequiredService<Serializer<ChunkWrite>>();
        return serializer.Deserialize(serializer.SerializeToArray(write))!;
    }
}

/// <summary><see cref="ChunkWrite"/> as the previous version declared it, with a <c>ReadOnlyMemory&lt;byte&gt;</c> payload.</summary>
[GenerateSerializer, Immutable, Alias("livestream.test.EarlierChunkWrite")]
public sealed record EarlierChunkWrite(
    [property: Id(0)] int Epoch,
    [property: Id(1)] long Offset,
    [property: Id(2)] ReadOnlyMemory<byte> Data);

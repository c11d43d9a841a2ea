using System.Security.Cryptography;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;

namespace LiveStream.Grains.Tests;

/// <summary>Creates streams straight through the grains, as the API does.</summary>
public static class StreamFactory
{
    public static async Task<(IStreamGrain Grain, byte[] KeyHash)> CreateAsync(
        IGrainFactory grains,
        IReadOnlyList<OutputSpec>? outputs = null,
        DuplicatePolicy policy = DuplicatePolicy.Takeover,
        int reconnectWindowSeconds = StreamSettings.DefaultReconnectWindowSeconds)
    {
        var id = SessionIds.NewStreamId();
        var hash = SHA256.HashData(RandomNumberGenerator.GetBytes(32));
        var grain = grains.GetGrain<IStreamGrain>(id);
        await grain.CreateAsync(new CreateStreamCommand("test", hash, outputs ?? [new OutputSpec(OutputType.Hls, Record: true), new OutputSpec(OutputType.Archive)], new StreamSettings(reconnectWindowSeconds, policy)));
        await grains.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey).RegisterAsync(id, hash);
        return (grain, hash);
    }

    public static Task<ConnectResult> ConnectAsync(IStreamGrain grain, byte[] keyHash, IPublisherObserver? observer = null) =>
        grain.ConnectAsync(new ConnectRequest(keyHash, IngestProtocol.V1, "test-gateway", Guid.NewGuid().ToString("N"), observer));

    public static async Task<long> WriteAllAsync(IStreamGrain grain, int epoch, long offset, IEnumerable<ReadOnlyMemory<byte>> chunks)
    {
        foreach (var chunk in chunks)
        {
            // A full buffer takes part of a chunk, or none of it: the rest is sent again from the committed offset.
            var end = offset + chunk.Length;
            while (offset < end)
            {
                var result = await grain.WriteAsync(new ChunkWrite(epoch, offset, chunk[(int)(chunk.Length - (end - offset))..]));
                if (result.Outcome == WriteOutcome.Committed)
                {
                    offset = result.Committed;
                    continue;
                }

                Assert.True(result.Outcome == WriteOutcome.BufferFull, $"write at {offset}: {result.Outcome}, close code {result.CloseCode}, {result.Reason}");
                await Task.Delay(10);
            }
        }

        return offset;
    }
}

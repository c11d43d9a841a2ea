namespace LiveStream.Streams;

/// <summary>Persisted key-hash index: hex of the SHA-256 of a key → stream id.</summary>
[GenerateSerializer, Alias("livestream.DirectoryRecord")]
public sealed class DirectoryRecord
{
    [Id(0)] public Dictionary<string, string> StreamsByKeyHash { get; set; } = new(StringComparer.Ordinal);

    [Id(1)] public List<string> StreamIds { get; set; } = [];
}

/// <summary>
/// Resolves key hashes to stream ids. A dictionary lookup by hash leaks nothing about the key (the hash of 256
/// random bits cannot be inverted); the stream grain then compares the full hash in constant time.
/// </summary>
[GrainType("livestream.directory")]
internal sealed class StreamDirectoryGrain(
    [PersistentState("directory", StorageNames.LiveStream)] IPersistentState<DirectoryRecord> state) : Grain, IStreamDirectoryGrain
{
    public async Task RegisterAsync(string streamId, byte[] keyHash)
    {
        var hex = Convert.ToHexString(keyHash);
        if (!state.State.StreamsByKeyHash.TryAdd(hex, streamId))
        {
            throw new InvalidOperationException("A stream with this key already exists.");
        }

        state.State.StreamIds.Add(streamId);
        await state.WriteStateAsync();
    }

    public async Task AddKeyAsync(string streamId, byte[] keyHash)
    {
        if (!state.State.StreamsByKeyHash.TryAdd(Convert.ToHexString(keyHash), streamId))
        {
            throw new InvalidOperationException("A stream with this key already exists.");
        }

        await state.WriteStateAsync();
    }

    public async Task RemoveKeyAsync(string streamId, byte[] keyHash)
    {
        var hex = Convert.ToHexString(keyHash);
        if (state.State.StreamsByKeyHash.TryGetValue(hex, out var owner) && owner == streamId)
        {
            state.State.StreamsByKeyHash.Remove(hex);
            await state.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string streamId)
    {
        foreach (var hex in state.State.StreamsByKeyHash.Where(e => e.Value == streamId).Select(e => e.Key).ToList())
        {
            state.State.StreamsByKeyHash.Remove(hex);
        }

        state.State.StreamIds.Remove(streamId);
        await state.WriteStateAsync();
    }

    public Task<string?> ResolveAsync(byte[] keyHash) =>
        Task.FromResult(state.State.StreamsByKeyHash.GetValueOrDefault(Convert.ToHexString(keyHash)));

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.StreamIds]);
}

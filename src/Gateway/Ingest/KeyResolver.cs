using LiveStream.Gateway.Options;
using LiveStream.Streams;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// Stream-key hash → stream id, through the directory grain, with found ids kept for at most
/// <c>LiveStream:Ingest:KeyCacheSeconds</c>. A cached id is safe after a rotation or a revocation: the stream grain
/// compares the full hash again and refuses a key that is no longer valid. Misses are not cached, so a new
/// stream's key works at once. Only hashes are cached, never keys.
/// </summary>
internal sealed class KeyResolver(IGrainFactory grains, IOptions<IngestOptions> options) : IDisposable
{
    private const int MaxEntries = 100_000;
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxEntries });

    /// <summary>The stream id, or null when no stream has this key hash.</summary>
    public async Task<string?> ResolveAsync(byte[] keyHash)
    {
        var ttl = TimeSpan.FromSeconds(options.Value.KeyCacheSeconds);
        var cacheKey = Convert.ToHexString(keyHash);
        if (ttl > TimeSpan.Zero && _cache.TryGetValue(cacheKey, out string? cached))
        {
            return cached;
        }

        var streamId = await grains.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey).ResolveAsync(keyHash);
        if (streamId is not null && ttl > TimeSpan.Zero)
        {
            _cache.Set(cacheKey, streamId, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl });
        }

        return streamId;
    }

    public void Dispose() => _cache.Dispose();
}

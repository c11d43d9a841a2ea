using LiveStream.Gateway.Options;
using LiveStream.Streams;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace LiveStream.Gateway.Ingest;

/// <summary>
/// Stream-key hash → stream id, through the directory grain, with found ids kept for at most
/// <c>LiveStream:Ingest:KeyCacheSeconds</c>. A cached id is safe after a rotation or a revocation: the stream grain
/// compares the full hash again and refuses a key that is no longer valid. Unknown hashes are remembered for
/// <c>LiveStream:Ingest:UnknownKeyCacheSeconds</c>, so a flood of made-up keys costs the directory one lookup per key
/// and period; a stream created through this gateway forgets its key's miss at once. Both caches are bounded. Only
/// hashes are cached, never keys.
/// </summary>
internal sealed class KeyResolver(IGrainFactory grains, IOptions<IngestOptions> options) : IDisposable
{
    private const int MaxEntries = 100_000;
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxEntries });
    private readonly MemoryCache _unknown = new(new MemoryCacheOptions { SizeLimit = MaxEntries });
    private long _lookups;

    /// <summary>Lookups that reached the directory grain.</summary>
    public long DirectoryLookups => Interlocked.Read(ref _lookups);

    /// <summary>The stream id, or null when no stream has this key hash.</summary>
    public async Task<string?> ResolveAsync(byte[] keyHash)
    {
        var ttl = TimeSpan.FromSeconds(options.Value.KeyCacheSeconds);
        var unknownTtl = TimeSpan.FromSeconds(options.Value.UnknownKeyCacheSeconds);
        var cacheKey = Convert.ToHexString(keyHash);
        if (ttl > TimeSpan.Zero && _cache.TryGetValue(cacheKey, out string? cached))
        {
            return cached;
        }

        if (unknownTtl > TimeSpan.Zero && _unknown.TryGetValue(cacheKey, out _))
        {
            return null;
        }

        Interlocked.Increment(ref _lookups);
        var streamId = await grains.GetGrain<IStreamDirectoryGrain>(IStreamDirectoryGrain.DefaultKey).ResolveAsync(keyHash);
        if (streamId is not null && ttl > TimeSpan.Zero)
        {
            _cache.Set(cacheKey, streamId, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl });
        }
        else if (streamId is null && unknownTtl > TimeSpan.Zero)
        {
            _unknown.Set(cacheKey, true, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = unknownTtl });
        }

        return streamId;
    }

    /// <summary>A stream was created (or its key rotated) through this gateway: its key is not unknown any more.</summary>
    public void Known(byte[] keyHash) => _unknown.Remove(Convert.ToHexString(keyHash));

    public void Dispose()
    {
        _cache.Dispose();
        _unknown.Dispose();
    }
}

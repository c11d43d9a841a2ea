using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace LiveStream.Storage;

/// <summary>
/// Grain state in this process's memory, for the live sessions' failover records in the embedded default (one
/// silo): nothing there outlives the process, and there is no other silo to hand a session to. A write is a
/// dictionary update with a deep copy of the state (Orleans' copier: a few fields for a failover record). Orleans'
/// own memory storage keeps state in storage grains, so each of its writes is a grain call and a JSON serialization;
/// a failover record is written before every acknowledgement, and those were a tenth of the silo's CPU per chunk.
/// ETags behave as in any Orleans storage: a write whose ETag is not the stored version fails with
/// <see cref="InconsistentStateException"/>.
/// </summary>
internal sealed class ProcessMemoryGrainStorage(DeepCopier copier) : IGrainStorage
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), Entry> _entries = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_entries.TryGetValue((stateName, grainId), out var entry))
        {
            grainState.State = copier.Copy((T)entry.State!);
            grainState.ETag = Etag(entry.Version);
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        var copy = copier.Copy(grainState.State);
        long version;
        if (grainState.ETag is null)
        {
            version = 1;
            if (!_entries.TryAdd(key, new Entry(version, copy)))
            {
                throw Stale(key, null);
            }
        }
        else
        {
            if (!_entries.TryGetValue(key, out var stored) || Etag(stored.Version) != grainState.ETag)
            {
                throw Stale(key, grainState.ETag);
            }

            version = stored.Version + 1;
            if (!_entries.TryUpdate(key, new Entry(version, copy), stored))
            {
                throw Stale(key, grainState.ETag);
            }
        }

        grainState.ETag = Etag(version);
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        if (_entries.TryGetValue(key, out var stored))
        {
            if (Etag(stored.Version) != grainState.ETag || !_entries.TryRemove(new KeyValuePair<(string, GrainId), Entry>(key, stored)))
            {
                throw Stale(key, grainState.ETag);
            }
        }
        else if (grainState.ETag is not null)
        {
            throw Stale(key, grainState.ETag);
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private static string Etag(long version) => version.ToString(CultureInfo.InvariantCulture);

    private InconsistentStateException Stale((string, GrainId) key, string? etag)
    {
        var stored = _entries.TryGetValue(key, out var entry) ? Etag(entry.Version) : null;
        return new InconsistentStateException($"The stored version is {stored ?? "none"}, the grain had {etag ?? "none"}.", stored, etag);
    }

    /// <summary>One stored state; compared by reference, so a concurrent write in between makes an update fail.</summary>
    private sealed class Entry(long version, object? state)
    {
        public long Version { get; } = version;

        public object? State { get; } = state;
    }
}

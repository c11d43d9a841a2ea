using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace LiveStream.Storage;

/// <summary>
/// Grain state in one file per grain under a folder, for the embedded default (one silo): written to a temporary
/// file and renamed over the old one, so a crash leaves the old state or the new, never half of one. The file
/// starts with an 8-byte version, which is the ETag; a write whose ETag is stale fails with
/// <see cref="InconsistentStateException"/>, as with any Orleans storage. Not for several silos sharing a folder:
/// this process is the folder's only writer, so it remembers each file's version instead of reading it back before
/// every write. Writes to different files go on in parallel (a lock per stripe of paths, not one for the folder), so
/// a burst of publishers connecting at once does not queue behind one another's file writes.
/// </summary>
internal sealed class FileGrainStorage(string root, Serializer serializer) : IGrainStorage, IDisposable
{
    private const int VersionBytes = sizeof(long);
    private const int Stripes = 64;
    private readonly SemaphoreSlim[] _locks = [.. Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _versions = new(StringComparer.Ordinal);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        var bytes = await File.ReadAllBytesAsync(path);
        grainState.State = serializer.Deserialize<T>(bytes.AsSpan(VersionBytes));
        grainState.ETag = BitConverter.ToInt64(bytes, 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var payload = serializer.SerializeToArray(grainState.State);
        var gate = LockOf(path);
        await gate.WaitAsync();
        try
        {
            var version = await CheckVersionAsync(path, grainState.ETag) + 1;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = path + ".tmp";
            await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await file.WriteAsync(BitConverter.GetBytes(version));
                await file.WriteAsync(payload);
                await file.FlushAsync();
            }

            File.Move(temporary, path, overwrite: true);
            _versions[path] = version;
            grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var gate = LockOf(path);
        await gate.WaitAsync();
        try
        {
            await CheckVersionAsync(path, grainState.ETag);
            File.Delete(path);
            _versions[path] = 0;
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose()
    {
        foreach (var gate in _locks)
        {
            gate.Dispose();
        }
    }

    private SemaphoreSlim LockOf(string path) => _locks[(uint)StringComparer.Ordinal.GetHashCode(path) % Stripes];

    /// <summary>
    /// The stored version (0: none); throws when <paramref name="etag"/> is not it (null: nothing stored yet). The
    /// file is read only the first time this process writes it.
    /// </summary>
    private async Task<long> CheckVersionAsync(string path, string? etag)
    {
        if (_versions.TryGetValue(path, out var known))
        {
            var knownEtag = known == 0 ? null : known.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return etag == knownEtag
                ? known
                : throw new InconsistentStateException($"The stored version is {knownEtag ?? "none"}, the grain had {etag ?? "none"}.", knownEtag, etag);
        }

        long stored = 0;
        string? storedEtag = null;
        if (File.Exists(path))
        {
            var head = new byte[VersionBytes];
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
            await file.ReadExactlyAsync(head);
            stored = BitConverter.ToInt64(head);
            storedEtag = stored.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (etag != storedEtag)
        {
            throw new InconsistentStateException($"The stored version is {storedEtag ?? "none"}, the grain had {etag ?? "none"}.", storedEtag, etag);
        }

        return stored;
    }

    /// <summary><c>{root}/{state}/{grain id}</c>, each escaped so that no id can leave the folder.</summary>
    private string PathOf(string stateName, GrainId grainId) =>
        Path.Combine(root, Uri.EscapeDataString(stateName), Uri.EscapeDataString(grainId.ToString()));
}

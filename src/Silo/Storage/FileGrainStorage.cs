using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace LiveStream.Storage;

/// <summary>
/// Grain state in one file per grain under a folder, for the embedded default (one silo): written to a temporary
/// file and renamed over the old one, so a crash leaves the old state or the new, never half of one. The file
/// starts with an 8-byte version, which is the ETag; a write whose ETag is stale fails with
/// <see cref="InconsistentStateException"/>, as with any Orleans storage. Not for several silos sharing a folder.
/// </summary>
internal sealed class FileGrainStorage(string root, Serializer serializer) : IGrainStorage, IDisposable
{
    private const int VersionBytes = sizeof(long);
    private readonly SemaphoreSlim _lock = new(1, 1);

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
        await _lock.WaitAsync();
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
            grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        await _lock.WaitAsync();
        try
        {
            await CheckVersionAsync(path, grainState.ETag);
            File.Delete(path);
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>The stored version; throws when <paramref name="etag"/> is not it (null: nothing stored yet).</summary>
    private static async Task<long> CheckVersionAsync(string path, string? etag)
    {
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

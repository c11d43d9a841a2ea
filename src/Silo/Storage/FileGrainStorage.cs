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
/// <para>
/// The file system calls themselves are synchronous, and at most <c>ioConcurrency</c> run at once. On Linux a
/// FileStream's asynchronous write is the same system call made on a pool thread, queued behind everything else
/// there; and creating or renaming files in one folder is serialised by the kernel. A burst of thousands of sessions
/// ending at once (each stores its stream record) had up to one blocked pool thread per stripe and work items queued
/// behind the whole pool: the process stalled for two seconds, long enough for sessions' lease renewals (which run on
/// the same pool) to lapse. Now the writers wait asynchronously for one of a few slots, and a slot's holder makes its
/// system calls straight away.
/// </para>
/// </summary>
internal sealed class FileGrainStorage(string root, Serializer serializer, int ioConcurrency) : IGrainStorage, IDisposable
{
    private const int VersionBytes = sizeof(long);
    private const int Stripes = 64;
    private readonly SemaphoreSlim[] _locks = [.. Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly SemaphoreSlim _io = new(ioConcurrency, ioConcurrency);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _versions = new(StringComparer.Ordinal);
    private int _inIo;
    private int _peakIo;

    /// <summary>File operations at once by default: one per processor, at least two.</summary>
    public static int DefaultIoConcurrency => Math.Max(2, Environment.ProcessorCount);

    /// <summary>The most file operations that were in progress at once.</summary>
    internal int PeakIo => Volatile.Read(ref _peakIo);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        byte[]? bytes;
        using (await EnterIoAsync())
        {
            bytes = File.Exists(path) ? File.ReadAllBytes(path) : null;
        }

        if (bytes is null)
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

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
            using var io = await EnterIoAsync();
            var version = CheckVersion(path, grainState.ETag) + 1;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = path + ".tmp";
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                Span<byte> head = stackalloc byte[VersionBytes];
                BitConverter.TryWriteBytes(head, version);
                file.Write(head);
                file.Write(payload);
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
            using var io = await EnterIoAsync();
            CheckVersion(path, grainState.ETag);
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

        _io.Dispose();
    }

    /// <summary>Waits for a slot for file system calls; disposing the result gives it back.</summary>
    private async ValueTask<IoSlot> EnterIoAsync()
    {
        await _io.WaitAsync();
        var now = Interlocked.Increment(ref _inIo);
        var peak = Volatile.Read(ref _peakIo);
        while (now > peak && Interlocked.CompareExchange(ref _peakIo, now, peak) != peak)
        {
            peak = Volatile.Read(ref _peakIo);
        }

        return new IoSlot(this);
    }

    private readonly struct IoSlot(FileGrainStorage owner) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.Decrement(ref owner._inIo);
            owner._io.Release();
        }
    }

    private SemaphoreSlim LockOf(string path) => _locks[(uint)StringComparer.Ordinal.GetHashCode(path) % Stripes];

    /// <summary>
    /// The stored version (0: none); throws when <paramref name="etag"/> is not it (null: nothing stored yet). The
    /// file is read only the first time this process writes it. The caller holds an I/O slot.
    /// </summary>
    private long CheckVersion(string path, string? etag)
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
            Span<byte> head = stackalloc byte[VersionBytes];
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            file.ReadExactly(head);
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

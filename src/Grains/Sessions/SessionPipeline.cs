using LiveStream.Media;
using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>
/// Where a session's committed bytes go: the archive file (written and flushed inside the grain turn, so an
/// acknowledged byte survives the process) and the bounded buffer its FFmpeg drains.
/// </summary>
internal sealed class SessionPipeline : IAsyncDisposable
{
    private readonly FileStream? _archive;
    private readonly SessionBuffer? _buffer;

    private SessionPipeline(FileStream? archive, SessionBuffer? buffer, IMediaProcess? process)
    {
        _archive = archive;
        _buffer = buffer;
        Process = process;
    }

    /// <summary>The session's FFmpeg, or null when no output needs one.</summary>
    public IMediaProcess? Process { get; }

    /// <summary>Bytes committed but not yet written to FFmpeg.</summary>
    public long BufferedBytes => _buffer?.BufferedBytes ?? 0;

    public static SessionPipeline Start(
        MediaProcessSpec spec,
        string? archivePath,
        int bufferBytes,
        IMediaProcessRunner runner)
    {
        FileStream? archive = null;
        if (archivePath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(archivePath)!);
            archive = new FileStream(archivePath, new FileStreamOptions
            {
                Mode = FileMode.Append,
                Access = FileAccess.Write,
                Share = FileShare.Read,
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
            });
        }

        if (!FfmpegArguments.NeedsProcess(spec.Outputs))
        {
            return new SessionPipeline(archive, null, null);
        }

        var buffer = new SessionBuffer(bufferBytes);
        try
        {
            return new SessionPipeline(archive, buffer, runner.Start(spec, buffer));
        }
        catch
        {
            buffer.Dispose();
            archive?.Dispose();
            throw;
        }
    }

    /// <summary>True when <paramref name="length"/> more bytes fit in the FFmpeg buffer now.</summary>
    public bool HasRoomFor(int length) => _buffer?.HasRoomFor(length) ?? true;

    /// <summary>Commits bytes: archive first, then the FFmpeg buffer. The caller checked <see cref="HasRoomFor"/>.</summary>
    public async ValueTask CommitAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_archive is not null)
        {
            await _archive.WriteAsync(data, cancellationToken);
            await _archive.FlushAsync(cancellationToken);
        }

        _buffer?.Add(data.Span);
    }

    /// <summary>Ends the input, lets FFmpeg finalise its outputs (bounded by its timeouts) and closes the archive.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // No more input: FFmpeg drains what is buffered, sees end of file and finalises its outputs.
        _buffer?.Complete();
        if (Process is not null)
        {
            await Process.StopAsync(cancellationToken);
        }

        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
        {
            await Process.DisposeAsync();
        }

        _buffer?.Dispose();
        if (_archive is not null)
        {
            await _archive.DisposeAsync();
        }
    }

    /// <summary>Path of a session's archive under the data folder.</summary>
    public static string ArchivePath(string dataPath, string sessionId) => Path.Combine(dataPath, "sessions", sessionId, "archive");

    /// <summary>Folder of a session's HLS output under the data folder.</summary>
    public static string HlsDirectory(string dataPath, string sessionId) => Path.Combine(dataPath, "hls", sessionId);

    /// <summary>True when <paramref name="outputs"/> asks for an archive.</summary>
    public static bool WantsArchive(IEnumerable<OutputSpec> outputs) => outputs.Any(o => o.Type == OutputType.Archive);
}

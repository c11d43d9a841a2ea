using LiveStream.Media;
using LiveStream.Media.Containers;
using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>
/// Where a session's committed bytes go: the archive file (written and flushed inside the grain turn, so an
/// acknowledged byte survives the process) and, through the <see cref="MediaRouter"/>, the bounded buffer its
/// current FFmpeg drains. FFmpeg starts once the init segment is known, with arguments chosen from the tracks.
/// </summary>
internal sealed class SessionPipeline : IMediaFeed, IAsyncDisposable
{
    private readonly FileStream? _archive;
    private readonly MediaProcessSpec _spec;
    private readonly int _bufferBytes;
    private readonly IMediaProcessRunner _runner;
    private readonly MediaProcessSupervisor _supervisor;
    private readonly MediaRouter? _router;
    private readonly SimulcastContext? _simulcastContext;
    private LiveStream.Telemetry.LiveStreamInstruments? _instruments;
    private SimulcastFanOut? _simulcast;
    private SessionBuffer? _buffer;
    private Task? _retiring;
    private IMediaProcess? _retiringProcess;
    private IReadOnlyList<TrackInfo>? _pendingTracks;
    private bool _started;
    private volatile bool _fenced;
    private Func<bool>? _mayWrite;
    private RestartPolicy _restarts = null!;

    private SessionPipeline(FileStream? archive, MediaProcessSpec spec, int bufferBytes, IMediaProcessRunner runner, MediaProcessSupervisor supervisor, SimulcastContext? simulcast)
    {
        _simulcastContext = spec.Outputs.Any(o => o.Type == OutputType.Rtmp) ? simulcast : null;
        _archive = archive;
        _spec = spec;
        _bufferBytes = bufferBytes;
        _runner = runner;
        _supervisor = supervisor;
        _router = FfmpegArguments.NeedsProcess(spec.Outputs) ? new MediaRouter(this) : null;
    }

    /// <summary>The session's current FFmpeg, or null (no output needs one, or the init segment is not complete yet).</summary>
    public IMediaProcess? Process { get; private set; }

    /// <summary>How often FFmpeg was started again within the session (crash, failed launch, recorder restart).</summary>
    public int Restarts => _restarts.Restarts;

    /// <summary>True while a recording's FFmpeg is asked for and not started yet.</summary>
    public bool WaitsForProcess => _pendingTracks is not null;

    /// <summary>The tracks of the current recording (empty until known, and for outputs that need no FFmpeg).</summary>
    public IReadOnlyList<TrackInfo> Tracks => _router?.Tracks ?? [];

    /// <summary>Recorder restarts spliced into the running FFmpeg.</summary>
    public int Splices => _router?.Splices ?? 0;

    /// <summary>The longest recent gap between video keyframes, in ms.</summary>
    public long? KeyframeIntervalMs => _router?.KeyframeIntervalMs;

    /// <summary>Bytes committed but not yet written to FFmpeg.</summary>
    public long BufferedBytes => _buffer?.BufferedBytes ?? 0;

    public static SessionPipeline Start(
        MediaProcessSpec spec,
        string? archivePath,
        int bufferBytes,
        IMediaProcessRunner runner,
        MediaProcessSupervisor supervisor,
        RestartPolicy restarts,
        Func<bool>? mayWrite = null,
        long? resumeAt = null,
        SimulcastContext? simulcast = null,
        LiveStream.Telemetry.LiveStreamInstruments? instruments = null)
    {
        FileStream? archive = null;
        if (archivePath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(archivePath)!);
            if (resumeAt is { } committed && File.Exists(archivePath) && new FileInfo(archivePath).Length > committed)
            {
                // Bytes past the committed offset were never acknowledged: the client sends them again.
                using var cut = new FileStream(archivePath, FileMode.Open, FileAccess.Write, FileShare.Read);
                cut.SetLength(committed);
            }

            archive = new FileStream(archivePath, new FileStreamOptions
            {
                Mode = FileMode.Append,
                Access = FileAccess.Write,
                Share = FileShare.Read,
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
            });
        }

        return new SessionPipeline(archive, spec, bufferBytes, runner, supervisor, simulcast) { _restarts = restarts, _instruments = instruments, _mayWrite = mayWrite };
    }

    /// <summary>
    /// How many of <paramref name="length"/> bytes the FFmpeg buffer takes now (0: none, wait). The bytes the router
    /// holds back (the tail of an element still arriving) count: a commit that completes their element queues them
    /// with it. So the buffer never holds more than its capacity, except that an empty buffer takes a whole write even
    /// when the router holds more than the capacity (a restart waiting for its keyframe), so nothing can wedge.
    /// </summary>
    public int Admits(int length)
    {
        if (_buffer is null)
        {
            return length;
        }

        var buffered = _buffer.BufferedBytes;
        var room = _buffer.Capacity - buffered - (_router?.HeldBytes ?? 0);
        return room >= length ? length : room > 0 ? (int)room : buffered == 0 ? length : 0;
    }

    /// <summary>
    /// Commits bytes: archive first, then the media router (which only parses and queues for FFmpeg; starting
    /// FFmpeg is not part of a commit). Throws <see cref="MediaFormatException"/> when the bytes are not media FFmpeg
    /// can take (the archive keeps them: it is what the client sent, and the session fails). Any other failure after
    /// the archive write cuts the archive back, so a failed commit leaves no bytes that the client will send again.
    /// </summary>
    public async ValueTask CommitAsync(ReadOnlyMemory<byte> data, long nowMs, CancellationToken cancellationToken)
    {
        var before = _archive?.Length ?? 0;
        if (_archive is not null)
        {
            await _archive.WriteAsync(data, cancellationToken);
            await _archive.FlushAsync(cancellationToken);
        }

        try
        {
            _router?.Commit(data.Span, nowMs);
        }
        catch (Exception ex) when (ex is not MediaFormatException && _archive is not null)
        {
            _archive.SetLength(before);
            throw;
        }
    }

    /// <summary>
    /// Continues a session another silo ran (failover; the archive was cut back to the committed bytes when the
    /// pipeline was started with <c>resumeAt</c>): outputs are continued, and FFmpeg starts at the next keyframe
    /// after the stored init segment.
    /// </summary>
    public void Resume(byte[] initSegment, long committed)
    {
        _started = true;
        if (initSegment.Length > 0)
        {
            _router?.Resume(initSegment, committed);
        }
    }

    /// <summary>The current recording's init segment (empty until known).</summary>
    public byte[] InitSegment => _router?.InitSegment ?? [];

    /// <summary>A new publisher connection continues the session from here.</summary>
    public void NewConnection() => _router?.NewConnection();

    /// <summary>
    /// FFmpeg died: it is cleared away and a new one is asked for, to be fed the init segment and then the stream
    /// from the next keyframe (the caller starts it when its restart is due).
    /// </summary>
    public async Task ReplaceDeadProcessAsync()
    {
        await RetireAsync(graceful: false);
        _buffer = new SessionBuffer(_bufferBytes, _mayWrite);
        _pendingTracks = Tracks;
        _router?.RestartFeed();
    }

    void IMediaFeed.Start(IReadOnlyList<TrackInfo> tracks, bool restartOfRecording)
    {
        if (restartOfRecording)
        {
            if (!_restarts.TryRestartForRecording())
            {
                throw new MediaFormatException("too many incompatible recorder restarts");
            }

            _instruments?.FfmpegRestarts.Add(1, new KeyValuePair<string, object?>("reason", "recording"));
            if (Process is not null)
            {
                // The old recording's FFmpeg drains what it has and finalises in the background. The new one starts
                // when it is gone (both write the same playlist); meanwhile the new recording's bytes wait in a new
                // bounded buffer.
                var old = Process;
                _retiringProcess = old;
                var oldBuffer = _buffer;
                oldBuffer?.Complete();
                var previous = _retiring ?? Task.CompletedTask;
                _retiring = _supervisor.RunDetached(async () =>
                {
                    await previous;
                    await old.StopAsync(CancellationToken.None);
                    await old.DisposeAsync();
                    oldBuffer?.Dispose();
                    Interlocked.CompareExchange(ref _retiringProcess, null, old);
                });
                Process = null;
            }
            else
            {
                // A recording whose FFmpeg never started: its bytes are of no use to the new one.
                _buffer?.Dispose();
            }

            _buffer = null;
        }

        // The bytes that follow wait in the buffer until the process is up.
        _buffer ??= new SessionBuffer(_bufferBytes, _mayWrite);
        _pendingTracks = tracks;
    }

    /// <summary>
    /// Starts the FFmpeg that was asked for, once the previous one has finished with the outputs. A launch that
    /// throws leaves the request in place, so the caller can try again after its backoff.
    /// </summary>
    public async Task StartPendingProcessAsync()
    {
        if (_pendingTracks is { } tracks && (_retiring?.IsCompleted ?? true) && !_fenced)
        {
            await StartProcessAsync(tracks);
            _pendingTracks = null;
        }
    }

    /// <summary>
    /// The session's lease is no longer proven: every process it runs (encoder, a retiring encoder, relays) is killed
    /// at once and none starts again. Safe to call from any thread.
    /// </summary>
    public void Fence()
    {
        _fenced = true;
        Process?.Kill();
        _retiringProcess?.Kill();
        _simulcast?.Kill();
    }

    void IMediaFeed.Feed(ReadOnlySpan<byte> data) => _buffer?.Add(data);

    /// <summary>Ends the input, lets FFmpeg finalise its outputs (bounded by its timeouts) and closes the archive.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _router?.Flush();
        if (_pendingTracks is not null && _retiring is not null)
        {
            // A new recording still waits for the old FFmpeg: let it start and finalise too.
            await _retiring.WaitAsync(cancellationToken);
            await StartPendingProcessAsync();
        }

        await RetireAsync(graceful: true, cancellationToken);
        if (_simulcast is not null)
        {
            // The encoder has finished: the relays send what they have and finish too.
            await _simulcast.StopAsync(cancellationToken);
        }

        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await RetireAsync(graceful: false);
        if (_simulcast is not null)
        {
            await _simulcast.DisposeAsync();
        }

        _router?.Dispose();
        if (_archive is not null)
        {
            await _archive.DisposeAsync();
        }
    }

    /// <summary>
    /// Every output's state: an RTMP target's from its relay, HLS's from the encoder (<paramref name="encoderError"/>
    /// is its last error), archive and null outputs are live while the session is.
    /// </summary>
    public IReadOnlyList<OutputStatus> OutputStatuses(string? encoderError)
    {
        var encoderState = Process switch
        {
            { Exited.IsCompleted: false } => OutputState.Live,
            { } => OutputState.Retrying,
            null => OutputState.Starting,
        };
        return [.. _spec.Outputs.Select((output, i) => output.Type switch
        {
            OutputType.Rtmp => _simulcast?.Status(i) ?? new OutputStatus(OutputType.Rtmp, output.Url is null ? null : SecretRedactor.Redact(output.Url), OutputState.Starting, null, 0, null),
            OutputType.Hls => new OutputStatus(OutputType.Hls, null, encoderState, encoderError, Restarts, Process?.Id),
            _ => new OutputStatus(output.Type, null, OutputState.Live, null, 0, null),
        })];
    }

    /// <summary>True when <paramref name="outputs"/> asks for an archive.</summary>
    public static bool WantsArchive(IEnumerable<OutputSpec> outputs) => outputs.Any(o => o.Type == OutputType.Archive);

    private async Task StartProcessAsync(IReadOnlyList<TrackInfo> tracks)
    {
        // The buffer already holds the bytes that arrived while the process was asked for.
        var buffer = _buffer ?? new SessionBuffer(_bufferBytes, _mayWrite);
        try
        {
            if (_simulcastContext is not null)
            {
                // The relays outlive encoders: a new encoder's stream is fanned out to the same targets.
                _simulcast ??= new SimulcastFanOut(_spec.SessionId, _spec.Outputs, _simulcastContext);
            }

            if (_fenced)
            {
                throw new InvalidOperationException("The session is fenced off: no FFmpeg may start.");
            }

            Process = await _runner.StartAsync(_spec with { Tracks = tracks, Continuation = _started, Stdout = _simulcast is null ? null : _simulcast.ReadAsync }, buffer);
            _started = true;
            _buffer = buffer;
        }
        catch
        {
            // What was queued for it is dropped; the next attempt gets the init segment, then the next keyframe on.
            buffer.Dispose();
            _buffer = new SessionBuffer(_bufferBytes, _mayWrite);
            _router?.RestartFeed();
            throw;
        }
    }

    private async Task RetireAsync(bool graceful, CancellationToken cancellationToken = default)
    {
        var process = Process;
        var buffer = _buffer;
        Process = null;
        _buffer = null;

        // No more input: FFmpeg drains what is buffered, sees end of file and finalises its outputs.
        buffer?.Complete();
        if (process is not null)
        {
            if (graceful)
            {
                await process.StopAsync(cancellationToken);
            }

            await process.DisposeAsync();
        }

        buffer?.Dispose();
    }
}

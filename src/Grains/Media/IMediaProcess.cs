namespace LiveStream.Media;

/// <summary>A running media process (FFmpeg) that reads a session's bytes from stdin.</summary>
public interface IMediaProcess : IAsyncDisposable
{
    /// <summary>The OS process id.</summary>
    int Id { get; }

    /// <summary>Completes with the exit code when the process has exited, for whatever reason.</summary>
    Task<int> Exited { get; }

    /// <summary>The last lines the process wrote to stderr (secrets redacted).</summary>
    IReadOnlyList<string> StderrTail { get; }

    /// <summary>What the process last reported about its progress (frame rate, speed…), or null when it reports none.</summary>
    MediaProgress? Progress => null;

    /// <summary>
    /// Ends the input, lets the process drain it and finalise its outputs, interrupts it after
    /// <c>Ffmpeg:StopTimeout</c> and kills it after <c>Ffmpeg:KillTimeout</c>. Returns the exit code.
    /// </summary>
    Task<int> StopAsync(CancellationToken cancellationToken);

    /// <summary>Kills the process at once.</summary>
    void Kill();
}

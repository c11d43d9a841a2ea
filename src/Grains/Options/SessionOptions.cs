namespace LiveStream.Options;

/// <summary>Live session limits (section <c>LiveStream:Session</c>).</summary>
public sealed class SessionOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Session";

    /// <summary>Bytes a session may hold committed but not yet written to FFmpeg. Default 8 MiB.</summary>
    public int BufferBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Sessions (the live one included) kept per stream for the API. Default 50.</summary>
    public int HistoryLimit { get; set; } = 50;

    /// <summary>
    /// How long ending a session waits, inside the grain call, for FFmpeg to finalise its outputs. The stop goes on
    /// in the background after that (bounded by <c>Ffmpeg:StopTimeout</c> and <c>Ffmpeg:KillTimeout</c>), so an
    /// end answers even when FFmpeg is stalled. Default 5 s.
    /// </summary>
    public TimeSpan EndWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often FFmpeg may be restarted within one session (crashes, recorder restarts) before the session fails with 4500. Default 5.</summary>
    public int MaxFfmpegRestarts { get; set; } = 5;

    /// <summary>
    /// How long a commit waits for the failover state (committed offset, init segment) to be stored before it is
    /// acknowledged anyway; a store that is down does not stop live sessions. Default 1 s.
    /// </summary>
    public TimeSpan LiveStateWriteTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a live session checks its FFmpeg and timers. Default 1 s.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(1);
}

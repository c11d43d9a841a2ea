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
    /// How long a session handing itself off (its silo stops) waits for its failover record to be stored. Every
    /// acknowledged byte is stored before its acknowledgement anyway; this bounds only the last, unacknowledged
    /// bytes' record. Default 1 s.
    /// </summary>
    public TimeSpan LiveStateWriteTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an active session waits for anything from its publisher's gateway (a chunk, a retry, a disconnect)
    /// before it treats the publisher as gone and opens its reconnect window: its gateway was killed or cut off.
    /// Longer than the gateway's <c>Ingest:IdleTimeout</c> (15 s), which closes a silent publisher itself. Default 20 s.
    /// </summary>
    public TimeSpan PublisherTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How often a live session ticks while something is pending: an FFmpeg start waiting (a restart's backoff, a
    /// new recording's FFmpeg waiting for the old one), or an offset a write could not store. Default 1 s.
    /// </summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest a live session goes without a tick while nothing is pending. Deadlines (publisher silence, the
    /// reconnect window, the quota check) are ticked on time whatever this is, and an FFmpeg exit or a lost lease
    /// wakes the session at once; this bounds everything else and is the cadence of the per-session histogram
    /// samples. Default 5 s.
    /// </summary>
    public TimeSpan IdleTickInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The session's ingest cap in bits per second, over every connection and gateway of the session: bytes beyond it
    /// wait (back-pressure). 0: no cap. Default 20 Mbit/s, the gateway's per-connection limit.
    /// </summary>
    public long MaxBitsPerSecond { get; set; } = 20_000_000;

    /// <summary>How much above <see cref="MaxBitsPerSecond"/> a session may send at once, as time at the cap. Default 10 s.</summary>
    public TimeSpan IngestBurst { get; set; } = TimeSpan.FromSeconds(10);
}

using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>
/// A session's one FFmpeg restart budget (<c>Session:MaxFfmpegRestarts</c>), shared by every cause: an FFmpeg that
/// died, one that failed to launch, and a recorder restart that needs a new FFmpeg. After a death or failed launch
/// the next start waits: at once the first time, then 1 s, 2 s, 4 s … at most 10 s. (Each RTMP relay has its own
/// retry loop and never touches this budget: a failing target must not end the session.) The counts live in the
/// session's record, so every save of it carries them and the next owner of a session that moves goes on from them.
/// </summary>
internal sealed class RestartPolicy(int maxRestarts, TimeProvider time, SessionRecord record)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    /// <summary>
    /// FFmpeg starts after the session's first, under any owner: restarts within the budget, and the starts on a new
    /// owner after the session moved (<see cref="Moved"/>).
    /// </summary>
    public int Restarts => record.FfmpegRestarts;

    /// <summary>When the next start is due, while one is waiting.</summary>
    public DateTimeOffset? DueAt { get; private set; }

    /// <summary>True while a start waits for its backoff to pass.</summary>
    public bool Waiting => DueAt is { } due && time.GetUtcNow() < due;

    // A move is no fault of the session's media: it does not spend the budget.
    private int Spent => record.FfmpegRestarts - record.FfmpegMoves;

    /// <summary>
    /// The session is picked up by a new owner (its silo died or handed it off, or its lease lapsed) and its FFmpeg
    /// starts again there: counted as a restart, not against the budget.
    /// </summary>
    public void Moved()
    {
        record.FfmpegRestarts++;
        record.FfmpegMoves++;
    }

    /// <summary>A recorder restart needs a new FFmpeg: false when the budget is spent.</summary>
    public bool TryRestartForRecording()
    {
        if (Spent >= maxRestarts)
        {
            return false;
        }

        record.FfmpegRestarts++;
        return true;
    }

    /// <summary>FFmpeg died or failed to launch: schedules the next start. False when the budget is spent.</summary>
    public bool TrySchedule()
    {
        if (Spent >= maxRestarts)
        {
            return false;
        }

        DueAt = time.GetUtcNow() + Backoff(Spent);
        return true;
    }

    /// <summary>A scheduled start is being made now: it counts against the budget whether or not it launches.</summary>
    public void Attempting()
    {
        if (DueAt is not null)
        {
            DueAt = null;
            record.FfmpegRestarts++;
        }
    }

    private static TimeSpan Backoff(int restarts) =>
        restarts == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, restarts - 1)));
}

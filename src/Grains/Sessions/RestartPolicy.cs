namespace LiveStream.Sessions;

/// <summary>
/// A session's one FFmpeg restart budget (<c>Session:MaxFfmpegRestarts</c>), shared by every cause: an FFmpeg that
/// died, one that failed to launch, and a recorder restart that needs a new FFmpeg. After a death or failed launch
/// the next start waits: at once the first time, then 1 s, 2 s, 4 s … at most 10 s. (Each RTMP relay has its own
/// retry loop and never touches this budget: a failing target must not end the session.)
/// </summary>
internal sealed class RestartPolicy(int maxRestarts, TimeProvider time)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    /// <summary>FFmpeg starts after the session's first.</summary>
    public int Restarts { get; private set; }

    /// <summary>When the next start is due, while one is waiting.</summary>
    public DateTimeOffset? DueAt { get; private set; }

    /// <summary>True while a start waits for its backoff to pass.</summary>
    public bool Waiting => DueAt is { } due && time.GetUtcNow() < due;

    /// <summary>A recorder restart needs a new FFmpeg: false when the budget is spent.</summary>
    public bool TryRestartForRecording()
    {
        if (Restarts >= maxRestarts)
        {
            return false;
        }

        Restarts++;
        return true;
    }

    /// <summary>FFmpeg died or failed to launch: schedules the next start. False when the budget is spent.</summary>
    public bool TrySchedule()
    {
        if (Restarts >= maxRestarts)
        {
            return false;
        }

        DueAt = time.GetUtcNow() + Backoff(Restarts);
        return true;
    }

    /// <summary>A scheduled start is being made now: it counts against the budget whether or not it launches.</summary>
    public void Attempting()
    {
        if (DueAt is not null)
        {
            DueAt = null;
            Restarts++;
        }
    }

    private static TimeSpan Backoff(int restarts) =>
        restarts == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, restarts - 1)));
}

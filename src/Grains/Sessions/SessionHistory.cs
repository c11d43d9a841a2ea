using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>A stream's stored sessions: which live one to continue after a failover, which ended ones to forget.</summary>
internal static class SessionHistory
{
    /// <summary>
    /// The live session of <paramref name="stream"/> that the failover record names, or null. Any other session
    /// stored as live was cut short when its silo went away before it could be handed on: it is marked failed (in
    /// memory, written with the next change).
    /// </summary>
    public static string? FindToRestore(StreamRecord stream, string? failoverSessionId, DateTimeOffset now)
    {
        string? found = null;
        foreach (var session in stream.Sessions.Where(s => s.IsLive))
        {
            if (session.Id == failoverSessionId)
            {
                found = session.Id;
                continue;
            }

            session.State = SessionState.Failed;
            session.EndReason = "interrupted: the silo running it went away";
            session.EndedAt ??= now;
            session.FfmpegPid = null;
        }

        return found;
    }

    /// <summary>Removes the records of sessions that ended longer than <c>Retention:Days</c> ago.</summary>
    public static int ForgetExpired(SessionServices services, StreamRecord stream)
    {
        if (services.Retention.Days <= 0)
        {
            return 0;
        }

        var cutoff = services.Time.GetUtcNow() - TimeSpan.FromDays(services.Retention.Days);
        return stream.Sessions.RemoveAll(s => s.EndedAt is { } ended && ended < cutoff);
    }
}

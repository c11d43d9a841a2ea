using LiveStream.Sessions;
using Microsoft.Extensions.Logging;

namespace LiveStream.Streams;

internal sealed partial class StreamGrain
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Session {SessionId} of stream {StreamId} started")]
    private static partial void LogSessionStarted(ILogger logger, string sessionId, string streamId);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Session {SessionId} {State}: {Reason} after {Bytes} bytes")]
    private static partial void LogSessionEnded(ILogger logger, string sessionId, SessionState state, string reason, long bytes);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Session {SessionId}: publisher of epoch {Epoch} superseded by a newer one")]
    private static partial void LogSuperseded(ILogger logger, string sessionId, int epoch);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Session {SessionId}: second publisher rejected (policy reject)")]
    private static partial void LogRejected(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Session {SessionId}: FFmpeg {ProcessId} exited unexpectedly with code {ExitCode}")]
    private static partial void LogFfmpegDied(ILogger logger, string sessionId, int processId, int exitCode);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Session {SessionId} is live while its grain deactivates ({Reason}); ending it")]
    private static partial void LogDeactivatingLive(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Session {SessionId}: publisher gone (close {CloseCode}); waiting {WindowSeconds} s for a reconnect")]
    private static partial void LogDisconnected(ILogger logger, string sessionId, int closeCode, int windowSeconds);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Session {SessionId}: publisher reconnected, resuming at byte {Offset}")]
    private static partial void LogResumed(ILogger logger, string sessionId, long offset);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Session {SessionId} ended; its FFmpeg is still finalising and will be stopped in the background")]
    private static partial void LogStillStopping(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Stream {StreamId}: its lease is held by a live holder elsewhere; not starting FFmpeg")]
    private static partial void LogLeaseHeldElsewhere(ILogger logger, string streamId);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Session {SessionId} lost its lease; killing its FFmpeg and leaving the stream to its new owner")]
    private static partial void LogLeaseLost(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Session {SessionId}: bad media ({Reason}); failing the session")]
    private static partial void LogBadMedia(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Stream {StreamId}: the lease store is unavailable; not starting FFmpeg")]
    private static partial void LogLeaseStoreUnavailable(ILogger logger, Exception exception, string streamId);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Session {SessionId} picked up on this silo after its silo went away or handed it off, at byte {Offset}")]
    private static partial void LogRestored(ILogger logger, string sessionId, long offset);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "Session {SessionId}: its failover state could not be stored; streaming on, retrying")]
    private static partial void LogLiveStateNotDurable(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Information, Message = "Session {SessionId} handed off while its grain deactivates ({Reason}) at byte {Offset}; another silo picks it up")]
    private static partial void LogHandingOff(ILogger logger, string sessionId, string reason, long offset);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "Session {SessionId}: a duplicate activation owns the stream; leaving it without writing state")]
    private static partial void LogLeavingToDuplicate(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Information, Message = "Stream {StreamId}: key rotated; the old key works only to reconnect to session {LiveSessionId}")]
    private static partial void LogKeyRotated(ILogger logger, string streamId, string? liveSessionId);

    [LoggerMessage(EventId = 2018, Level = LogLevel.Information, Message = "Stream {StreamId} deleted")]
    private static partial void LogStreamDeleted(ILogger logger, string streamId);

    [LoggerMessage(EventId = 2019, Level = LogLevel.Warning, Message = "Stream {StreamId}: rotated-away keys could not be removed from the directory; they are refused all the same")]
    private static partial void LogRetiredKeysNotRemoved(ILogger logger, Exception exception, string streamId);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "Session {SessionId} fails: {Reason}")]
    private static partial void LogDiskFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 3901, Level = LogLevel.Information, Message = "Stream {StreamId}: no room on this silo for a session of {Cost} units ({Used}/{Capacity} used); it moves to a silo with room")]
    private static partial void LogNoRoomHere(ILogger logger, string streamId, int cost, int used, int capacity);

    [LoggerMessage(EventId = 3902, Level = LogLevel.Warning, Message = "Stream {StreamId}: cluster at capacity, a session of {Cost} units refused with 4503 (this silo {Used}/{Capacity} used)")]
    private static partial void LogClusterFull(ILogger logger, string streamId, int cost, int used, int capacity);
}

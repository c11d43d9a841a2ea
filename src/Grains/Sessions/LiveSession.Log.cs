using Microsoft.Extensions.Logging;

namespace LiveStream.Sessions;

internal sealed partial class LiveSession
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

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Session {SessionId}: publisher gone (close {CloseCode}); waiting {WindowSeconds} s for a reconnect")]
    private static partial void LogDisconnected(ILogger logger, string sessionId, int closeCode, int windowSeconds);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Session {SessionId}: publisher reconnected, resuming at byte {Offset}")]
    private static partial void LogResumed(ILogger logger, string sessionId, long offset);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Session {SessionId} ended; its FFmpeg is still finalising and will be stopped in the background")]
    private static partial void LogStillStopping(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Stream {StreamId}: its lease is held elsewhere; not starting FFmpeg")]
    private static partial void LogLeaseHeldElsewhere(ILogger logger, string streamId);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Session {SessionId} cannot prove its lease; its processes were killed and the stream is left to its next owner")]
    private static partial void LogLeaseLost(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Session {SessionId}: bad media ({Reason}); failing the session")]
    private static partial void LogBadMedia(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Stream {StreamId}: the lease store is unavailable; not starting FFmpeg")]
    private static partial void LogLeaseStoreUnavailable(ILogger logger, Exception exception, string streamId);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Session {SessionId} picked up on this silo after its silo went away or handed it off, at byte {Offset}")]
    private static partial void LogRestored(ILogger logger, string sessionId, long offset);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "Session {SessionId}: its state could not be stored")]
    private static partial void LogNotStored(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Information, Message = "Session {SessionId} handed off ({Reason}) at byte {Offset}; another activation picks it up")]
    private static partial void LogHandingOff(ILogger logger, string sessionId, string reason, long offset);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "Session {SessionId} fails: {Reason}")]
    private static partial void LogSessionFails(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Session {SessionId}: committed offset {Offset} could not be stored; not acknowledged yet")]
    private static partial void LogNotDurable(ILogger logger, string sessionId, long offset);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Error, Message = "Session {SessionId}: a commit failed; the archive was cut back and the session fails")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Warning, Message = "Session {SessionId}: FFmpeg could not be started")]
    private static partial void LogLaunchFailed(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Information, Message = "Session {SessionId}: nothing from its publisher for {Seconds} s; waiting for a reconnect")]
    private static partial void LogPublisherSilent(ILogger logger, string sessionId, double seconds);
}

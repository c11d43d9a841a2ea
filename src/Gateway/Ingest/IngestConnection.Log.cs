namespace LiveStream.Gateway.Ingest;

internal sealed partial class IngestConnection
{
    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Publisher of session {SessionId}, epoch {Epoch}, closed with {CloseCode}")]
    private static partial void LogClosed(ILogger logger, string sessionId, int epoch, int closeCode);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Publisher of session {SessionId}, epoch {Epoch}, closed by the session with {CloseCode}")]
    private static partial void LogClosedByGrain(ILogger logger, string sessionId, int epoch, int closeCode);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Information, Message = "Publisher of session {SessionId}, epoch {Epoch}: a close with {CloseCode} from an owner the session has left is ignored")]
    private static partial void LogStaleOwnerClose(ILogger logger, string sessionId, int epoch, int closeCode);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Information, Message = "Publisher of session {SessionId}, epoch {Epoch}: the session is now served by owner {Owner}; its closes come to this connection")]
    private static partial void LogAttached(ILogger logger, string sessionId, int epoch, long owner);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Warning, Message = "Grain call for session {SessionId} failed transiently ({Failure}); retry {Attempt}")]
    private static partial void LogRetrying(ILogger logger, string sessionId, string failure, int attempt);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information, Message = "Publisher of session {SessionId}, epoch {Epoch}, sent nothing for {Seconds} s; closing with 4408")]
    private static partial void LogIdle(ILogger logger, string sessionId, int epoch, double seconds);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Grain call failed for session {SessionId}")]
    private static partial void LogGrainCallFailed(ILogger logger, Exception exception, string sessionId);
}

namespace LiveStream.Gateway.Operations;

internal sealed partial class LiveSessionScanner
{
    [LoggerMessage(EventId = 3500, Level = LogLevel.Warning, Message = "Stream {StreamId} did not answer the live-session scan")]
    private static partial void LogUnanswered(ILogger logger, Exception exception, string streamId);
}

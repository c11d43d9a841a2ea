using Microsoft.Extensions.Logging;

namespace LiveStream.Webhooks;

internal static partial class WebhookResilience
{
    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Webhook event {EventId} of session {SessionId} to {Url}: attempt {Attempt} failed ({Failure}); retrying in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string eventId, string sessionId, string url, int attempt, string failure, TimeSpan delay);

    [LoggerMessage(EventId = 3306, Level = LogLevel.Warning, Message = "Webhook receiver {Receiver} keeps failing ({Failure}): its circuit is open, nothing is sent to it for {BreakDuration}")]
    private static partial void LogCircuitOpened(ILogger logger, string receiver, TimeSpan breakDuration, string failure);

    [LoggerMessage(EventId = 3307, Level = LogLevel.Information, Message = "Webhook receiver {Receiver} answers again: its circuit is closed")]
    private static partial void LogCircuitClosed(ILogger logger, string receiver);
}

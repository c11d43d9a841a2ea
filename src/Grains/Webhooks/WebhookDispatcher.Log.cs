using Microsoft.Extensions.Logging;

namespace LiveStream.Webhooks;

internal sealed partial class WebhookDispatcher
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Debug, Message = "Webhook event {EventId} ({Type}) of session {SessionId} delivered to {Url} at attempt {Attempt}")]
    private static partial void LogDelivered(ILogger logger, string eventId, string sessionId, string type, string url, int attempt);

    // 3301 (retrying), 3306 and 3307 (a receiver's circuit) are logged by the pipeline: WebhookResilience.Log.cs.

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "Webhook event {EventId} ({Type}) of session {SessionId} to {Url} given up after {Attempts} attempts; last failure: {Failure}")]
    private static partial void LogGaveUp(ILogger logger, string eventId, string sessionId, string type, string url, int attempts, string failure);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Warning, Message = "Webhook queue full ({Capacity}); dropped the oldest delivery, event {EventId} of session {SessionId} ({Dropped} dropped since start)")]
    private static partial void LogQueueFull(ILogger logger, int capacity, string eventId, string sessionId, long dropped);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Information, Message = "Webhook event {EventId} of session {SessionId} to {Url} abandoned: the silo is stopping")]
    private static partial void LogAbandonedAtStop(ILogger logger, string eventId, string sessionId, string url);

    [LoggerMessage(EventId = 3305, Level = LogLevel.Error, Message = "Webhook event {EventId} of session {SessionId} to {Url} could not be sent")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, string eventId, string sessionId, string url);
}

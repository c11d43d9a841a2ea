using Microsoft.Extensions.Logging;

namespace LiveStream.Streams;

internal sealed partial class StreamGrain
{
    [LoggerMessage(EventId = 2017, Level = LogLevel.Information, Message = "Stream {StreamId}: key rotated; the old key works only to reconnect to session {LiveSessionId}")]
    private static partial void LogKeyRotated(ILogger logger, string streamId, string? liveSessionId);

    [LoggerMessage(EventId = 2018, Level = LogLevel.Information, Message = "Stream {StreamId} deleted")]
    private static partial void LogStreamDeleted(ILogger logger, string streamId);
}

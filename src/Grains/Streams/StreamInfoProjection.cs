using LiveStream.Sessions;
using LiveStream.Webhooks;

namespace LiveStream.Streams;

/// <summary>A stream as the API shows it: its definition and whether a session of it is live.</summary>
internal static class StreamInfoProjection
{
    public static StreamInfo Of(string streamId, StreamRecord record, SessionRecord? live)
    {
        var state = live?.State switch
        {
            SessionState.Active => StreamState.Live,
            SessionState.Disconnected => StreamState.Disconnected,
            _ => StreamState.Idle,
        };
        return new StreamInfo(streamId, record.Name, [.. record.Outputs], record.Settings, state, live?.Id, record.CreatedAt, record.Webhook is { } webhook ? WebhookUrls.Redact(webhook.Url) : null);
    }
}

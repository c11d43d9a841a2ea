using LiveStream.Streams;

namespace LiveStream.Webhooks;

/// <summary>
/// Where the stream grain reports lifecycle events. <see cref="Publish"/> only enqueues and returns at once: a
/// slow or dead receiver never holds a grain turn, so it never slows ingest.
/// </summary>
public interface ISessionEvents
{
    /// <summary>Queues <paramref name="sessionEvent"/> for the deployment's receivers and the stream's own <paramref name="streamWebhook"/>.</summary>
    void Publish(SessionEvent sessionEvent, WebhookSpec? streamWebhook);
}

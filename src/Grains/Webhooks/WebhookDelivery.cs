using LiveStream.Streams;

namespace LiveStream.Webhooks;

/// <summary>
/// One event on its way to one receiver. It rides on its request (<see cref="Of"/>), so the signing handler signs
/// each attempt anew and the pipeline's callbacks log which event they retry.
/// </summary>
internal sealed class WebhookDelivery(string eventId, string sessionId, string type, byte[] body, WebhookSpec target)
{
    private static readonly HttpRequestOptionsKey<WebhookDelivery> Key = new("LiveStream.Webhooks.Delivery");

    private int _retries;
    private string? _lastFailure;
    private bool _outOfTime;

    public string EventId { get; } = eventId;

    public string SessionId { get; } = sessionId;

    public string Type { get; } = type;

    public byte[] Body { get; } = body;

    public WebhookSpec Target { get; } = target;

    /// <summary>The target URL as logs may show it: no user info, the query masked.</summary>
    public string RedactedUrl { get; } = WebhookUrls.Redact(target.Url);

    /// <summary>Attempts made so far, the current one included.</summary>
    public int Attempts => Volatile.Read(ref _retries) + 1;

    /// <summary>What went wrong at the last failed attempt; null before any.</summary>
    public string? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>Whether <see cref="Options.WebhookOptions.RetryFor"/> passed before the delivery succeeded.</summary>
    public bool IsOutOfTime => Volatile.Read(ref _outOfTime);

    /// <summary>The delivery <paramref name="request"/> carries; null for a request the dispatcher did not make.</summary>
    public static WebhookDelivery? Of(HttpRequestMessage? request) =>
        request is not null && request.Options.TryGetValue(Key, out var delivery) ? delivery : null;

    /// <summary>A signed-per-attempt POST of the body to the target, carrying this delivery.</summary>
    public HttpRequestMessage NewRequest()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Target.Url)
        {
            Content = new ByteArrayContent(Body) { Headers = { ContentType = new("application/json") { CharSet = "utf-8" } } },
        };
        request.Headers.TryAddWithoutValidation(WebhookSignature.EventIdHeader, EventId);
        request.Options.Set(Key, this);
        return request;
    }

    /// <summary>Attempt <paramref name="attempt"/> failed with <paramref name="failure"/>; another follows.</summary>
    public void Retrying(int attempt, string failure)
    {
        Volatile.Write(ref _lastFailure, failure);
        Volatile.Write(ref _retries, attempt);
    }

    /// <summary>The pipeline's total timeout ended the delivery.</summary>
    public void OutOfTime() => Volatile.Write(ref _outOfTime, true);
}

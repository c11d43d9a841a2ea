namespace LiveStream.Webhooks;

/// <summary>
/// Signs each attempt as it goes out, innermost in the webhook client (after the resilience handler): a retry
/// minutes after the first attempt carries a fresh timestamp, so a receiver that rejects old timestamps (the replay
/// window of docs/api.md) still accepts it.
/// </summary>
internal sealed class WebhookSigningHandler(TimeProvider time) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (WebhookDelivery.Of(request) is { } delivery)
        {
            request.Headers.Remove(WebhookSignature.Header);
            request.Headers.TryAddWithoutValidation(
                WebhookSignature.Header,
                WebhookSignature.Sign(delivery.Target.Secret, time.GetUtcNow().ToUnixTimeSeconds(), delivery.Body));
        }

        return base.SendAsync(request, cancellationToken);
    }
}

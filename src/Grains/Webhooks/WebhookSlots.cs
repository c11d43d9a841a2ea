using System.Threading.RateLimiting;
using LiveStream.Options;
using Microsoft.Extensions.Options;

namespace LiveStream.Webhooks;

/// <summary>
/// The silo's webhook requests in flight (<see cref="WebhookOptions.MaxConcurrentDeliveries"/>), one limiter shared by
/// every receiver's pipeline. Its place in the pipeline, inside the retry, the receiver's own limit and its circuit
/// breaker, means a permit is held for one attempt only: a delivery waiting to retry, waiting for its receiver, or
/// refused by an open circuit holds none.
/// </summary>
internal sealed class WebhookSlots(IOptions<WebhookOptions> options) : IDisposable
{
    public RateLimiter Limiter { get; } = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.MaxConcurrentDeliveries,

        // Never reached: no more deliveries are under way than the queue holds.
        QueueLimit = options.Value.QueueCapacity,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    public void Dispose() => Limiter.Dispose();
}

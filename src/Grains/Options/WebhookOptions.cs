namespace LiveStream.Options;

/// <summary>Webhook delivery of session lifecycle events (section <c>LiveStream:Webhooks</c>). Read by silos.</summary>
public sealed class WebhookOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Webhooks";

    /// <summary>Receivers of every stream's events (absolute http or https URLs). Default none.</summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>The secret the deployment's receivers verify signatures with; required (at least 16 characters) when <see cref="Urls"/> is set.</summary>
    public string? Secret { get; set; }

    /// <summary>How long one POST may take before it counts as failed. Default 10 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Median delay before the first retry; it doubles after each failed attempt, with random jitter. Default 1 s.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between two attempts, unless the receiver asks for a longer one with <c>Retry-After</c>. Default 1 min.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Attempts per event and receiver, the first one included; 1 never retries. Default 20.</summary>
    public int MaxAttempts { get; set; } = 20;

    /// <summary>How long an event is tried, from when the sender takes it off the queue, before it is given up. Default 10 min.</summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Deliveries waiting for their first attempt on this silo; when full, the oldest waiting one is dropped. As many
    /// again may be under way (in an attempt or waiting for a retry). Default 10000.
    /// </summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Webhook requests in flight at once on this silo. A delivery waiting for its retry holds none. Default 32.</summary>
    public int MaxConcurrentDeliveries { get; set; } = 32;

    /// <summary>Webhook requests in flight at once to one receiver (scheme, host and port) on this silo. Default 8.</summary>
    public int MaxConcurrentPerReceiver { get; set; } = 8;

    /// <summary>Share of failed attempts to one receiver, within <see cref="CircuitSamplingDuration"/>, that opens its circuit. Default 0.5.</summary>
    public double CircuitFailureRatio { get; set; } = 0.5;

    /// <summary>Attempts to one receiver within <see cref="CircuitSamplingDuration"/> before its circuit may open. Default 5.</summary>
    public int CircuitMinimumThroughput { get; set; } = 5;

    /// <summary>The window in which a receiver's failures are counted. Default 30 s.</summary>
    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit sends nothing to its receiver before one trial request. Default 30 s.</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}

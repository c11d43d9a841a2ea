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

    /// <summary>Delay before the first retry; it doubles after each failed attempt. Default 1 s.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between two attempts. Default 1 min.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long an event is retried, from its first attempt, before it is given up. Default 10 min.</summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Deliveries waiting on this silo; when full, the oldest waiting one is dropped. Default 10000.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Deliveries in flight at once on this silo (attempts and their retry waits). Default 32.</summary>
    public int MaxConcurrentDeliveries { get; set; } = 32;
}

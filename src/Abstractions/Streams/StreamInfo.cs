namespace LiveStream.Streams;

/// <summary>A stream as the API shows it. It never carries the key or its hash, nor the webhook's secret.</summary>
[GenerateSerializer, Immutable, Alias("livestream.StreamInfo")]
public sealed record StreamInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<OutputSpec> Outputs,
    [property: Id(3)] StreamSettings Settings,
    [property: Id(4)] StreamState State,
    [property: Id(5)] string? CurrentSessionId,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] string? WebhookUrl = null);

namespace LiveStream.Streams;

/// <summary>Creates a stream. The key itself never reaches a grain: only its SHA-256 hash.</summary>
[GenerateSerializer, Immutable, Alias("livestream.CreateStreamCommand")]
public sealed record CreateStreamCommand(
    [property: Id(0)] string Name,
    [property: Id(1)] byte[] KeyHash,
    [property: Id(2)] IReadOnlyList<OutputSpec> Outputs,
    [property: Id(3)] StreamSettings Settings,
    [property: Id(4)] WebhookSpec? Webhook = null);

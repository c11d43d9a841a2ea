namespace LiveStream.Streams;

/// <summary>
/// Changes a stream; a null field is left as it is. Outputs apply from the next session on; the reconnect window
/// and the duplicate policy apply at once. A <see cref="Webhook"/> replaces the stream's receiver, and
/// <see cref="RemoveWebhook"/> removes it, both at once.
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.UpdateStreamCommand")]
public sealed record UpdateStreamCommand(
    [property: Id(0)] string? Name,
    [property: Id(1)] IReadOnlyList<OutputSpec>? Outputs,
    [property: Id(2)] int? ReconnectWindowSeconds,
    [property: Id(3)] DuplicatePolicy? DuplicatePolicy,
    [property: Id(4)] WebhookSpec? Webhook = null,
    [property: Id(5)] bool RemoveWebhook = false);

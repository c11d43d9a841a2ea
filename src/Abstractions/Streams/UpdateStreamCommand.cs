namespace LiveStream.Streams;

/// <summary>
/// Changes a stream; a null field is left as it is. Outputs apply from the next session on; the reconnect window
/// and the duplicate policy apply at once.
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.UpdateStreamCommand")]
public sealed record UpdateStreamCommand(
    [property: Id(0)] string? Name,
    [property: Id(1)] IReadOnlyList<OutputSpec>? Outputs,
    [property: Id(2)] int? ReconnectWindowSeconds,
    [property: Id(3)] DuplicatePolicy? DuplicatePolicy);

namespace LiveStream.Ingest;

/// <summary>The answer to a <see cref="ChunkWrite"/>: <see cref="Committed"/> is the session's committed byte count.</summary>
[GenerateSerializer, Immutable, Alias("livestream.WriteResult")]
public sealed record WriteResult(
    [property: Id(0)] WriteOutcome Outcome,
    [property: Id(1)] long Committed,
    [property: Id(2)] int CloseCode = 0,
    [property: Id(3)] string? Reason = null);

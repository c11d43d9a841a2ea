namespace LiveStream.Ingest;

/// <summary>
/// The answer to a <see cref="ChunkWrite"/>: <see cref="Committed"/> is the session's committed byte count. A
/// <see cref="WriteOutcome.Committed"/> answer may cover only the start of the write (the session's buffer had room
/// for no more): the caller writes the rest from <see cref="Committed"/>. <see cref="Owner"/> is the fencing token of
/// the session's owner that answered (0 when no session answered).
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.WriteResult")]
public sealed record WriteResult(
    [property: Id(0)] WriteOutcome Outcome,
    [property: Id(1)] long Committed,
    [property: Id(2)] int CloseCode = 0,
    [property: Id(3)] string? Reason = null,
    [property: Id(4)] long Owner = 0);

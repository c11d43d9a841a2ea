namespace LiveStream.Ingest;

/// <summary>
/// Bytes of a session's byte stream at <see cref="Offset"/>, sent under connection epoch <see cref="Epoch"/>.
/// Immutable so a co-hosted call passes the gateway's buffer without a copy; the grain copies what it keeps
/// before it returns, and releases a payload a remote call delivered in pooled memory (<see cref="ChunkPayload"/>).
/// A write without bytes commits nothing and answers where the committed bytes end: the gateway's retry of a write
/// whose attempt timed out, so that a slow silo is not sent the same bytes again.
/// </summary>
[GenerateSerializer, Immutable, Alias("livestream.ChunkWrite")]
public sealed record ChunkWrite(
    [property: Id(0)] int Epoch,
    [property: Id(1)] long Offset,
    [property: Id(2)] ChunkPayload Data);

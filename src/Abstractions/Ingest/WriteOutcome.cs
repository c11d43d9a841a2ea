namespace LiveStream.Ingest;

/// <summary>What happened to a <see cref="ChunkWrite"/>.</summary>
[GenerateSerializer, Alias("livestream.WriteOutcome")]
public enum WriteOutcome
{
    /// <summary>Committed (or already committed: overlap is trimmed).</summary>
    Committed = 0,

    /// <summary>The session's buffer is full: nothing was taken, send the same bytes again later.</summary>
    BufferFull = 1,

    /// <summary>The bytes start after the committed offset: a gap. The connection closes with 4400.</summary>
    Gap = 2,

    /// <summary>The connection is no longer the session's publisher, or the session ended: close with <see cref="WriteResult.CloseCode"/>.</summary>
    Closed = 3,
}

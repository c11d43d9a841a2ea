namespace LiveStream.Sessions;

/// <summary>A slice of a session's archive. <see cref="Found"/> is false when the session has no archive.</summary>
[GenerateSerializer, Immutable, Alias("livestream.ArchiveRead")]
public sealed record ArchiveRead(
    [property: Id(0)] bool Found,
    [property: Id(1)] long Length,
    [property: Id(2)] byte[] Data);

namespace LiveStream.Streams;

/// <summary>One destination of a stream. <see cref="Url"/> is set for <see cref="OutputType.Rtmp"/> only.</summary>
[GenerateSerializer, Immutable, Alias("livestream.OutputSpec")]
public sealed record OutputSpec(
    [property: Id(0)] OutputType Type,
    [property: Id(1)] string? Url = null);

using LiveStream.Streams;

namespace LiveStream.Media;

/// <summary>What a session asks of its media process: its outputs and where local ones go.</summary>
public sealed record MediaProcessSpec(string SessionId, IReadOnlyList<OutputSpec> Outputs, string HlsDirectory);

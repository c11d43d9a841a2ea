using LiveStream.Media.Containers;
using LiveStream.Streams;

namespace LiveStream.Media;

/// <summary>What a session asks of its media process: its outputs, where local ones go, and the input's tracks.</summary>
public sealed record MediaProcessSpec(string SessionId, IReadOnlyList<OutputSpec> Outputs, string HlsDirectory)
{
    /// <summary>The tracks of the recording FFmpeg will read (empty when unknown).</summary>
    public IReadOnlyList<TrackInfo> Tracks { get; init; } = [];

    /// <summary>True when an earlier FFmpeg of the same session wrote these outputs: they are continued, not replaced.</summary>
    public bool Continuation { get; init; }

    /// <summary>
    /// Reads the process's stdout (the FLV stream for the RTMP relays) when any output is an RTMP target; null
    /// otherwise. It must read to the end: the encoder blocks when nobody reads its stdout.
    /// </summary>
    public Func<Stream, CancellationToken, Task>? Stdout { get; init; }
}

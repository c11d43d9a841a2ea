namespace LiveStream.Media.Containers;

/// <summary>Bounds that keep a hostile or corrupt stream from making the reader buffer or trust too much.</summary>
/// <param name="MaxHeaderBytes">
/// Largest init segment (EBML header to the end of Tracks, or <c>ftyp</c> to the end of <c>moov</c>) and largest element
/// the reader buffers whole to parse it (Info, Tracks, <c>moov</c>, <c>moof</c>). Default 1 MiB.
/// </param>
/// <param name="MaxElementBytes">Largest element or box the reader skips through (blocks, known-size Clusters, <c>mdat</c>). Default 16 MiB.</param>
/// <param name="MaxTracks">Most tracks a recording may declare. Default 8.</param>
public sealed record ContainerLimits(int MaxHeaderBytes = 1 << 20, int MaxElementBytes = 16 << 20, int MaxTracks = 8);

namespace LiveStream.Testing;

/// <summary>Reads an HLS media playlist's text.</summary>
public static class HlsPlaylist
{
    /// <summary>
    /// The <c>#EXT-X-DISCONTINUITY</c> tags between segments: one per FFmpeg that took over the playlist. A tag
    /// before the first segment is not counted.
    /// </summary>
    public static int DiscontinuitiesBetweenSegments(string playlist)
    {
        var lines = playlist.Split('\n').Select(l => l.Trim()).ToList();
        var first = lines.FindIndex(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal));
        return first < 0 ? 0 : lines.Skip(first).Count(l => l == "#EXT-X-DISCONTINUITY");
    }

    /// <summary>Number of segments.</summary>
    public static int Segments(string playlist) =>
        playlist.Split('\n').Count(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal));

    /// <summary>Each segment's URI with the <c>#EXT-X-DISCONTINUITY</c> tags above it, in playlist order.</summary>
    public static IReadOnlyList<(string Uri, int Discontinuities)> SegmentUris(string playlist)
    {
        var segments = new List<(string, int)>();
        var discontinuities = 0;
        foreach (var line in playlist.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line == "#EXT-X-DISCONTINUITY")
            {
                discontinuities++;
            }
            else if (!line.StartsWith('#'))
            {
                segments.Add((line, discontinuities));
            }
        }

        return segments;
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using LiveStream.Testing;

namespace LiveStream.Benchmarks.Gaps;

/// <summary>
/// Notes when each segment first appears in a watched session's HLS playlist (<c>hls/{sessionId}/index.m3u8</c>),
/// which is when a player can see it, and which FFmpeg wrote it: a new FFmpeg of the session starts with an
/// <c>#EXT-X-DISCONTINUITY</c>, so the discontinuities above a segment when it first appears tell the FFmpegs
/// apart (counted then: an <c>append_list</c> rewrite by FFmpeg 5.1 can add one above the old segments). FFmpeg renames
/// the playlist into place (<c>-hls_flags temp_file</c>), so a read never sees half of it. Polled every
/// <see cref="Interval"/>, which bounds how late an appearance is seen.
/// </summary>
internal sealed class PlaylistWatcher : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    private readonly string _hlsRoot;
    private readonly ConcurrentDictionary<string, byte> _sessions = new();
    private readonly ConcurrentDictionary<(string SessionId, string Uri), Sighting> _firstSeen = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _polling;

    public PlaylistWatcher(string hlsRoot)
    {
        _hlsRoot = hlsRoot;
        _polling = PollAsync(_stop.Token);
    }

    /// <summary>Segments seen so far.</summary>
    public int Count => _firstSeen.Count;

    /// <summary>Starts watching a session's playlist (every session the publisher is handed).</summary>
    public void Watch(string sessionId) => _sessions.TryAdd(sessionId, 0);

    /// <summary>The playlists as they are on disk right now (a fresh read, not the last poll).</summary>
    public Snapshot Now()
    {
        var segments = _sessions.Keys.SelectMany(Read).ToList();
        var ffmpegs = segments.GroupBy(s => s.SessionId).ToDictionary(g => g.Key, g => g.Max(s => s.Discontinuities));
        return new Snapshot([.. segments.Select(s => (s.SessionId, s.Uri))], ffmpegs);
    }

    /// <summary>
    /// When the first segment that <paramref name="before"/> did not list appeared after <paramref name="after"/>;
    /// with <paramref name="newFfmpeg"/>, only a segment of an FFmpeg that had written none then (after a new
    /// discontinuity, or in a session's first playlist). Null when none has.
    /// </summary>
    public long? FirstNewSegment(Snapshot before, long after, bool newFfmpeg)
    {
        var times = _firstSeen
            .Where(s => s.Value.At > after && !before.Segments.Contains(s.Key))
            .Where(s => !newFfmpeg || !before.Ffmpegs.TryGetValue(s.Key.SessionId, out var last) || s.Value.Discontinuities > last)
            .Select(s => s.Value.At)
            .ToList();
        return times.Count == 0 ? null : times.Min();
    }

    /// <summary>True when a playlist gained a discontinuity (a new FFmpeg) since <paramref name="before"/>.</summary>
    public bool NewFfmpegSince(Snapshot before) =>
        _firstSeen.Any(s => !before.Segments.Contains(s.Key) && before.Ffmpegs.TryGetValue(s.Key.SessionId, out var last) && s.Value.Discontinuities > last);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _polling;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private List<Segment> Read(string sessionId)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(_hlsRoot, sessionId, "index.m3u8"));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return [];
        }

        return [.. HlsPlaylist.SegmentUris(text).Select(s => new Segment(sessionId, s.Uri, s.Discontinuities))];
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            var found = _sessions.Keys.SelectMany(Read).ToList();
            var now = Stopwatch.GetTimestamp();
            foreach (var segment in found)
            {
                _firstSeen.TryAdd((segment.SessionId, segment.Uri), new Sighting(now, segment.Discontinuities));
            }
        }
    }

    /// <summary>A playlist entry, with the number of discontinuities before it (which FFmpeg of the session wrote it).</summary>
    internal readonly record struct Segment(string SessionId, string Uri, int Discontinuities);

    /// <summary>When a segment first appeared, and the discontinuities above it then.</summary>
    private readonly record struct Sighting(long At, int Discontinuities);

    /// <summary>The segments listed at one moment, and the discontinuities above each session's last segment then.</summary>
    internal sealed record Snapshot(HashSet<(string SessionId, string Uri)> Segments, Dictionary<string, int> Ffmpegs);
}

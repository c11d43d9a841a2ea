using System.Globalization;

namespace LiveStream.Media;

/// <summary>
/// Reads FFmpeg's <c>-progress pipe:2</c> reports out of its stderr. A report is a block of <c>key=value</c> lines
/// ending with <c>progress=continue</c> (or <c>end</c>), once per <c>-stats_period</c>; log lines share the stream, so
/// only an exact <c>key=value</c> line with a known key counts, anything else is a log line. Frame rate and speed are
/// measured over the reports of the last <see cref="Window"/> (FFmpeg's own figures average since its start); when no
/// report came for a whole window (FFmpeg waits on its input), both are 0. Thread-safe: stderr is read on one thread
/// and status on another.
/// </summary>
public sealed class FfmpegProgress(TimeProvider time)
{
    /// <summary>How far back frame rate and speed are measured.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    /// <summary>
    /// FFmpeg's <c>-stats_period</c>. Every report is a dozen stderr lines to read and parse, for every session;
    /// every 2 s halves that against every second, while a <see cref="Window"/> still holds two or three reports and
    /// a report that is late by a chunk's interval or a busy moment is not taken for a stalled FFmpeg (every 5 s
    /// would leave the window one report, and the figures up to 5 s behind the average they show).
    /// </summary>
    public static readonly TimeSpan ReportPeriod = TimeSpan.FromSeconds(2);

    private static readonly HashSet<string> Keys = new(StringComparer.Ordinal)
    {
        "frame", "fps", "bitrate", "total_size", "out_time_us", "out_time_ms", "out_time", "dup_frames", "drop_frames", "speed", "progress",
    };

    private readonly object _gate = new();
    private readonly Queue<Sample> _samples = new();

    // The block being read.
    private long? _frame;
    private double? _fps;
    private long? _outTimeUs;
    private long? _dup;
    private long? _drop;
    private double? _speed;

    // The last complete block.
    private Report? _last;

    /// <summary>
    /// Takes one stderr line; true when it was part of a progress report (the caller leaves it out of the log and
    /// the stderr tail).
    /// </summary>
    public bool TryRead(string line)
    {
        var equals = line.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            return false;
        }

        // FFmpeg pads some values ("speed=   1x"); a key never has spaces, a value none inside.
        var key = line[..equals];
        var value = line[(equals + 1)..].Trim();
        if ((!Keys.Contains(key) && !IsStreamQuality(key)) || value.AsSpan().IndexOfAny(' ', '\t') >= 0)
        {
            return false;
        }

        lock (_gate)
        {
            switch (key)
            {
                case "frame":
                    _frame = ParseLong(value);
                    break;
                case "fps":
                    _fps = ParseDouble(value);
                    break;
                case "out_time_us":
                    _outTimeUs = ParseLong(value);
                    break;
                case "dup_frames":
                    _dup = ParseLong(value);
                    break;
                case "drop_frames":
                    _drop = ParseLong(value);
                    break;
                case "speed":
                    _speed = ParseDouble(value.TrimEnd('x'));
                    break;
                case "progress":
                    EndBlock();
                    break;
            }
        }

        return true;
    }

    /// <summary>The latest figures, or null before the first complete report.</summary>
    public MediaProgress? Current
    {
        get
        {
            lock (_gate)
            {
                if (_last is not { } last)
                {
                    return null;
                }

                var now = time.GetTimestamp();
                double? fps = last.Fps;
                double? speed = last.Speed;
                if (time.GetElapsedTime(_samples.Last().At, now) > Window)
                {
                    // No report for a whole window: FFmpeg writes nothing (it waits on its input).
                    fps = 0;
                    speed = 0;
                }
                else if (_samples.Count >= 2)
                {
                    var first = _samples.Peek();
                    var newest = _samples.Last();
                    var seconds = time.GetElapsedTime(first.At, newest.At).TotalSeconds;
                    if (seconds >= 0.5)
                    {
                        if (newest.Frame is { } f1 && first.Frame is { } f0)
                        {
                            fps = Math.Max(0, f1 - f0) / seconds;
                        }

                        if (newest.OutTimeUs is { } t1 && first.OutTimeUs is { } t0)
                        {
                            speed = Math.Max(0, t1 - t0) / 1e6 / seconds;
                        }
                    }
                }

                return new MediaProgress(
                    fps is { } f ? Math.Round(f, 2) : null,
                    speed is { } s ? Math.Round(s, 3) : null,
                    last.Dropped,
                    last.Duplicated,
                    last.OutTimeUs is { } us ? Math.Max(0, us) / 1e6 : null);
            }
        }
    }

    private void EndBlock()
    {
        var now = time.GetTimestamp();
        _last = new Report(_fps, _speed, _drop, _dup, _outTimeUs);
        _samples.Enqueue(new Sample(now, _frame, _outTimeUs));

        // Keep the oldest sample that is still within the window, and nothing older.
        while (_samples.Count > 2 && time.GetElapsedTime(_samples.Peek().At, now) > Window)
        {
            _samples.Dequeue();
        }

        _frame = null;
        _fps = null;
        _outTimeUs = null;
        _dup = null;
        _drop = null;
        _speed = null;
    }

    // stream_0_0_q=28.0: one per encoded stream.
    private static bool IsStreamQuality(string key) =>
        key.StartsWith("stream_", StringComparison.Ordinal) && key.EndsWith("_q", StringComparison.Ordinal) && !key.Contains(' ', StringComparison.Ordinal);

    private static long? ParseLong(string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;

    private static double? ParseDouble(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed) ? parsed : null;

    private sealed record Report(double? Fps, double? Speed, long? Dropped, long? Duplicated, long? OutTimeUs);

    private readonly record struct Sample(long At, long? Frame, long? OutTimeUs);
}

/// <summary>What FFmpeg last reported about its progress.</summary>
/// <param name="Fps">Output video frames per second over the last few seconds.</param>
/// <param name="Speed">Media seconds written per wall-clock second over the last few seconds.</param>
/// <param name="DroppedFrames">Frames dropped since FFmpeg started.</param>
/// <param name="DuplicatedFrames">Frames duplicated since FFmpeg started.</param>
/// <param name="OutputSeconds">Media time written, in seconds.</param>
public sealed record MediaProgress(double? Fps, double? Speed, long? DroppedFrames, long? DuplicatedFrames, double? OutputSeconds);

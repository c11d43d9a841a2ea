namespace LiveStream.Options;

/// <summary>How FFmpeg is run (section <c>LiveStream:Ffmpeg</c>).</summary>
public sealed class FfmpegOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Ffmpeg";

    /// <summary>The ffmpeg executable. Default <c>ffmpeg</c> (found on PATH).</summary>
    public string Path { get; set; } = "ffmpeg";

    /// <summary>libx264 preset when video is re-encoded. Default <c>veryfast</c>.</summary>
    public string Preset { get; set; } = "veryfast";

    /// <summary>HLS segment length in seconds. Default 2.</summary>
    public int HlsSegmentSeconds { get; set; } = 2;

    /// <summary>
    /// Segments a live HLS playlist lists when the stream's <c>hls</c> output does not ask to record
    /// (<c>"record": true</c>); older segments are deleted from disk. Default 6 (12 s at 2 s segments).
    /// </summary>
    public int HlsWindowSegments { get; set; } = 6;

    /// <summary>How long a stopping FFmpeg may take to drain its input and finalise outputs before it is interrupted. Default 30 s.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an interrupted FFmpeg may take to exit before it is killed. Default 5 s.</summary>
    public TimeSpan KillTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Start FFmpeg through <c>setpriv --pdeathsig KILL</c> so it dies with its silo even on kill -9. Default true
    /// (Linux; util-linux's setpriv must be on PATH).
    /// </summary>
    public bool DieWithSilo { get; set; } = OperatingSystem.IsLinux();

    /// <summary>Lines of FFmpeg's stderr kept for status. Default 40.</summary>
    public int StderrTailLines { get; set; } = 40;
}

namespace LiveStream.Options;

/// <summary>Disk use of sessions' files (section <c>LiveStream:Retention</c>).</summary>
public sealed class RetentionOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream:Retention";

    /// <summary>
    /// Most bytes one stream's sessions may keep on disk (archives and HLS, ended sessions still on disk included).
    /// A live session that goes over fails with 4500 (<c>disk quota exceeded</c>), cleanly: FFmpeg finalises its
    /// outputs. 0 (the default): no quota.
    /// </summary>
    public long StreamQuotaBytes { get; set; }

    /// <summary>
    /// Days an ended session's files (archive, HLS) and its record are kept; then they are removed. 0 (the
    /// default): kept until the stream is deleted or an operator removes them.
    /// </summary>
    public int Days { get; set; }

    /// <summary>How often the silo looks for files past their retention. Default 1 h.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often a live session measures its stream's disk use against the quota. Default 5 s.</summary>
    public TimeSpan QuotaCheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}

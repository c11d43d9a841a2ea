namespace LiveStream.Options;

/// <summary>Settings every LiveStream process shares (section <c>LiveStream</c>).</summary>
public sealed class LiveStreamOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "LiveStream";

    /// <summary>Folder for HLS output, archives and local state. Default <c>./data</c>.</summary>
    public string DataPath { get; set; } = "./data";

    /// <summary>
    /// Bearer token of the admin API. Required on a standalone gateway; in the embedded default, when unset,
    /// one is generated at start and printed once on the console (never logged).
    /// </summary>
    public string? AdminToken { get; set; }

    /// <summary>The data folder as an absolute path.</summary>
    public string FullDataPath => Path.GetFullPath(DataPath);
}

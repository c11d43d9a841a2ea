namespace LiveStream.Sessions;

/// <summary>
/// Where everything lives under the data folder (<c>LiveStream:DataPath</c>), in one place: silos write there,
/// gateways serve HLS from there, the retention sweeper cleans it.
/// </summary>
public static class DataLayout
{
    /// <summary>The folder under the data folder holding one HLS folder per session.</summary>
    public const string HlsFolder = "hls";

    /// <summary>The folder under the data folder holding one archive folder per session.</summary>
    public const string SessionsFolder = "sessions";

    /// <summary>The folder under the data folder where the embedded default keeps grain state.</summary>
    public const string StateFolder = "state";

    /// <summary>The HLS playlist's file name in a session's HLS folder.</summary>
    public const string PlaylistName = "index.m3u8";

    /// <summary>Path of a session's archive (the exact bytes committed, in order).</summary>
    public static string ArchivePath(string dataPath, string sessionId) => Path.Combine(dataPath, SessionsFolder, sessionId, "archive");

    /// <summary>Folder of a session's HLS output.</summary>
    public static string HlsDirectory(string dataPath, string sessionId) => Path.Combine(dataPath, HlsFolder, sessionId);

    /// <summary>Folder of a session's archive.</summary>
    public static string SessionDirectory(string dataPath, string sessionId) => Path.Combine(dataPath, SessionsFolder, sessionId);

    /// <summary>The URL path a gateway serves a session's playlist at.</summary>
    public static string HlsUrl(string sessionId) => $"/{HlsFolder}/{sessionId}/{PlaylistName}";
}

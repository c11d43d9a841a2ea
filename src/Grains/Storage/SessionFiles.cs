using LiveStream.Sessions;

namespace LiveStream.Storage;

/// <summary>A session's files under the data folder: its archive folder and its HLS folder.</summary>
internal static class SessionFiles
{
    /// <summary>The folders that hold <paramref name="sessionId"/>'s files.</summary>
    public static IEnumerable<string> FoldersOf(string dataPath, string sessionId)
    {
        yield return Path.GetDirectoryName(DataLayout.ArchivePath(dataPath, sessionId))!;
        yield return DataLayout.HlsDirectory(dataPath, sessionId);
    }

    /// <summary>Bytes of every file of these sessions (files that vanish while counted are skipped).</summary>
    public static long BytesOf(string dataPath, IEnumerable<string> sessionIds)
    {
        long total = 0;
        foreach (var folder in sessionIds.SelectMany(id => FoldersOf(dataPath, id)).Where(Directory.Exists))
        {
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                try
                {
                    total += file.Length;
                }
                catch (FileNotFoundException)
                {
                    // Replaced or removed meanwhile (a playlist's temporary file).
                }
            }
        }

        return total;
    }

    /// <summary>Removes a session's files.</summary>
    public static void Delete(string dataPath, string sessionId)
    {
        foreach (var folder in FoldersOf(dataPath, sessionId).Where(Directory.Exists))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

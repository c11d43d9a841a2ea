namespace LiveStream.Testing;

/// <summary>Looks at OS processes through /proc.</summary>
public static class ProcessProbe
{
    /// <summary>True when a live (not zombie) process with this id runs.</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Ids of running processes whose command line contains <paramref name="fragment"/>.</summary>
    public static IReadOnlyList<int> FindByCommandLine(string fragment) => Find(cmdline => cmdline.Contains(fragment, StringComparison.Ordinal));

    /// <summary>Ids of running ffmpeg processes that write under <paramref name="dataPath"/>.</summary>
    public static IReadOnlyList<int> FindFfmpegUnder(string dataPath) =>
        Find(cmdline => Path.GetFileName(cmdline.Split(' ')[0]) == "ffmpeg" && cmdline.Contains(dataPath, StringComparison.Ordinal));

    private static List<int> Find(Func<string, bool> match)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (match(cmdline) && IsRunning(pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked.
            }
        }

        return found;
    }
}

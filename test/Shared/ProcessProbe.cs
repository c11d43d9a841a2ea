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
    public static IReadOnlyList<int> FindByCommandLine(string fragment)
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
                if (cmdline.Contains(fragment, StringComparison.Ordinal) && IsRunning(pid))
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

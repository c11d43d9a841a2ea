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

    /// <summary>
    /// CPU time of a process in seconds (utime + stime, from /proc; USER_HZ is 100 on Linux). With
    /// <paramref name="children"/>, its reaped children's time is added (FFmpeg once it has exited and been waited
    /// for); <paramref name="childrenOnly"/> gives that part alone.
    /// </summary>
    public static double CpuSeconds(int pid, bool children = false, bool childrenOnly = false)
    {
        var fields = StatFields(File.ReadAllText($"/proc/{pid}/stat"));
        var own = fields(14) + fields(15);
        var reaped = fields(16) + fields(17);
        return (childrenOnly ? reaped : children ? own + reaped : own) / 100;
    }

    /// <summary>CPU time of one thread of a process in seconds (utime + stime of <c>/proc/PID/task/TID/stat</c>).</summary>
    public static double ThreadCpuSeconds(int pid, int tid) => OwnSeconds(File.ReadAllText($"/proc/{pid}/task/{tid}/stat"));

    /// <summary>Resident memory of a process in bytes (VmRSS), 0 when it is gone.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Ids of running processes whose command line contains <paramref name="fragment"/>.</summary>
    public static IReadOnlyList<int> FindByCommandLine(string fragment) => Find(cmdline => cmdline.Contains(fragment, StringComparison.Ordinal));

    /// <summary>Command lines (arguments joined by spaces) of running processes that <paramref name="match"/>.</summary>
    public static IReadOnlyList<string> FindCommandLines(Func<string, bool> match)
    {
        var found = new List<string>();
        foreach (var pid in Find(match))
        {
            try
            {
                found.Add(File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }

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

    private static double OwnSeconds(string stat)
    {
        var fields = StatFields(stat);
        return (fields(14) + fields(15)) / 100;
    }

    /// <summary>Field n (1-based, as in proc(5)) of a stat line, after the command name in parentheses.</summary>
    private static Func<int, double> StatFields(string stat)
    {
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return n => double.Parse(fields[n - 3], System.Globalization.CultureInfo.InvariantCulture);
    }
}

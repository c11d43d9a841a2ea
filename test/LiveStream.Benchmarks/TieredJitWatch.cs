using System.Globalization;
using LiveStream.Testing;

namespace LiveStream.Benchmarks;

/// <summary>
/// CPU time of a .NET process's tiered-compilation thread (".NET Tiered Com…" in <c>/proc/PID/task/*/comm</c>) over
/// a span of time. The runtime starts that thread when methods are due for a tier-1 recompile and lets it exit when
/// idle, so the threads are sampled every 250 ms and each one's time is counted from its first sighting (from 0 for
/// a thread that started meanwhile); the last slice of a thread that exits between two samples is missed.
/// </summary>
internal sealed class TieredJitWatch : IAsyncDisposable
{
    private const string ThreadName = ".NET Tiered Com";
    private readonly int _pid;
    private readonly Dictionary<int, (double First, double Last)> _threads = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;

    private TieredJitWatch(int pid)
    {
        _pid = pid;
        foreach (var (tid, cpu) in Sample())
        {
            _threads[tid] = (cpu, cpu);
        }

        _sampling = SampleAsync(_stop.Token);
    }

    /// <summary>Starts watching <paramref name="pid"/>'s tiered-compilation thread.</summary>
    public static TieredJitWatch Start(int pid) => new(pid);

    /// <summary>Stops watching and returns the thread's CPU seconds since <see cref="Start"/>.</summary>
    public async Task<double> StopAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        Record();
        return _threads.Values.Sum(t => t.Last - t.First);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Record();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private void Record()
    {
        lock (_threads)
        {
            foreach (var (tid, cpu) in Sample())
            {
                _threads[tid] = _threads.TryGetValue(tid, out var seen) ? (seen.First, cpu) : (0, cpu);
            }
        }
    }

    private IEnumerable<(int Tid, double CpuSeconds)> Sample()
    {
        var found = new List<(int, double)>();
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories($"/proc/{_pid}/task");
        }
        catch (DirectoryNotFoundException)
        {
            return found;
        }

        foreach (var task in tasks)
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith(ThreadName, StringComparison.Ordinal))
                {
                    var tid = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
                    found.Add((tid, ProcessProbe.ThreadCpuSeconds(_pid, tid)));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The thread exited meanwhile.
            }
        }

        return found;
    }
}

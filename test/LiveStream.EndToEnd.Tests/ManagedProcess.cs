using System.Collections.Concurrent;
using System.Diagnostics;

namespace LiveStream.EndToEnd.Tests;

/// <summary>A child process the tests own: output captured line by line, killed (whole tree) on dispose.</summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private ManagedProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once it has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Sends a signal (TERM, KILL, STOP, CONT) to this process only.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Waits for the process to exit.</summary>
    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    /// <summary>Every line written to stdout and stderr so far.</summary>
    public IReadOnlyCollection<string> Output => _lines;

    public static ManagedProcess Start(string name, string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var managed = new ManagedProcess(name, process);
        process.OutputDataReceived += (_, e) => managed.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => managed.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    public async ValueTask DisposeAsync()
    {
        // LIVESTREAM_TEST_LOGS=folder keeps every process's output there, for a failing run.
        if (Environment.GetEnvironmentVariable("LIVESTREAM_TEST_LOGS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            await File.WriteAllLinesAsync(Path.Combine(folder, $"{Name}-{_process.Id}.log"), _lines);
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        _process.Dispose();
    }

    /// <summary>The captured output, for a failing test's message.</summary>
    public string Tail(int lines = 60) => string.Join('\n', _lines.TakeLast(lines));

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }
}

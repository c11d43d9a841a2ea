using Microsoft.Extensions.Logging;

namespace LiveStream.Grains.Tests;

/// <summary>
/// With <c>LIVESTREAM_TEST_LOG_DIR</c> set, the in-process silos' warnings and errors go to a file there (one per
/// test process), so a failure seen once in CI can be read back with the silo's own account of it.
/// </summary>
internal sealed class FileLog : ILoggerProvider
{
    private static readonly Lock Gate = new();
    private static StreamWriter? _writer;

    public static string? Directory => Environment.GetEnvironmentVariable("LIVESTREAM_TEST_LOG_DIR");

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName);

    public void Dispose()
    {
    }

    private static void Write(string line)
    {
        lock (Gate)
        {
            _writer ??= new StreamWriter(Path.Combine(Directory!, $"silo-{Environment.ProcessId}.log"), append: true) { AutoFlush = true };
            _writer.WriteLine(line);
        }
    }

    private sealed class Logger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Write($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}[{eventId.Id}] {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
        }
    }
}

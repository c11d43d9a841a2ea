using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LiveStream.Hosting;
using LiveStream.Options;
using LiveStream.Telemetry;
using LiveStream.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveStream.Grains.Tests.Webhooks;

/// <summary>
/// A webhook dispatcher wired as a silo wires it (<see cref="WebhookHostingExtensions.AddLiveStreamWebhooks"/>), with
/// given options and clock, a log that keeps every line, and counters of its own meter only (tests run in parallel).
/// </summary>
internal sealed class WebhookHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener _meters = new();
    private readonly ConcurrentDictionary<string, long> _counters = new();
    private bool _started;

    private WebhookHarness(ServiceProvider services, RecordingLoggerProvider logs)
    {
        _services = services;
        Logs = logs;
        Dispatcher = services.GetRequiredService<WebhookDispatcher>();
        var scope = services.GetRequiredService<IMeterFactory>();
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope) && instrument.Meter.Name == LiveStreamInstruments.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counters.AddOrUpdate(instrument.Name, value, (_, total) => total + value));
        _meters.Start();
        _ = services.GetRequiredService<LiveStreamInstruments>();
    }

    public WebhookDispatcher Dispatcher { get; }

    public RecordingLoggerProvider Logs { get; }

    /// <summary>The sum of one LiveStream counter of this dispatcher, e.g. <c>livestream.webhooks.given_up</c>.</summary>
    public long Total(string instrument) => _counters.GetValueOrDefault(instrument);

    /// <summary>A dispatcher not started yet. <paramref name="primaryHandler"/> stands in for the network when given.</summary>
    public static WebhookHarness Create(WebhookOptions options, TimeProvider? time = null, HttpMessageHandler? primaryHandler = null)
    {
        var logs = new RecordingLoggerProvider();
        var services = new ServiceCollection()
            .AddMetrics()
            .AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace))
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddSingleton(time ?? TimeProvider.System)
            .AddSingleton<LiveStreamInstruments>();
        services.AddLiveStreamWebhooks();
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        if (primaryHandler is not null)
        {
            services.AddHttpClient(WebhookDispatcher.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => primaryHandler);
        }

        return new WebhookHarness(services.BuildServiceProvider(), logs);
    }

    public static async Task<WebhookHarness> StartAsync(WebhookOptions options, TimeProvider? time = null, HttpMessageHandler? primaryHandler = null)
    {
        var harness = Create(options, time, primaryHandler);
        await harness.StartAsync();
        return harness;
    }

    public async Task StartAsync()
    {
        await Dispatcher.StartAsync(CancellationToken.None);
        _started = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            await Dispatcher.StopAsync(CancellationToken.None);
        }

        _meters.Dispose();
        await _services.DisposeAsync();
    }
}

/// <summary>Keeps every log line: its category, event id, text and structured values.</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Recorder(string category, ConcurrentQueue<LogLine> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = (state as IEnumerable<KeyValuePair<string, object?>> ?? []).ToDictionary(v => v.Key, v => v.Value);
            lines.Enqueue(new LogLine(category, logLevel, eventId.Id, formatter(state, exception), values, exception));
        }
    }
}

/// <summary>One log line; <see cref="Everything"/> is its text, its structured values and its exception together.</summary>
internal sealed record LogLine(string Category, LogLevel Level, int EventId, string Message, IReadOnlyDictionary<string, object?> Values, Exception? Exception)
{
    public string Everything => string.Join("\n", [Message, .. Values.Select(v => $"{v.Key}={v.Value}"), Exception?.ToString() ?? ""]);
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace LiveStream.Testing.Load;

/// <summary>
/// A load run: one publisher per stream (plus duplicates), started evenly over the ramp-up, paced by the schedule,
/// ended by the time limit. It stops by itself: <see cref="LoadSettings.Duration"/> plus a hard grace of one minute.
/// </summary>
public sealed class LoadRun
{
    private static readonly TimeSpan HardGrace = TimeSpan.FromMinutes(1);

    private LoadRun(LoadSchedule schedule, IReadOnlyList<StreamProgress> streams)
    {
        Schedule = schedule;
        Streams = streams;
    }

    public LoadSchedule Schedule { get; }

    public LoadStats Stats { get; } = new();

    public IReadOnlyList<StreamProgress> Streams { get; }

    /// <summary>When the run started (a <see cref="Stopwatch"/> timestamp).</summary>
    public long StartedAt { get; private set; }

    /// <summary>Completes when every publisher is done.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public static LoadRun Start(IReadOnlyList<LoadStream> streams, MediaCapture capture, LoadSettings settings, CancellationToken cancellationToken = default)
    {
        settings.Validate();
        ArgumentOutOfRangeException.ThrowIfNotEqual(streams.Count, settings.Publishers);
        var schedule = new LoadSchedule(capture, settings.ChunkBytes, settings.IntervalMs, settings.Loop);
        var run = new LoadRun(schedule, [.. streams.Select(s => new StreamProgress(s))]);
        run.Completion = run.RunAsync(settings, cancellationToken);
        return run;
    }

    /// <summary>
    /// Compares each sampled stream's archive with what was sent: the stream had one session; the archive holds at
    /// least every acknowledged byte, at most every sent byte, and each is the capture's byte at that offset.
    /// Returns the problems found (none when all is well).
    /// </summary>
    public async Task<IReadOnlyList<string>> CheckArchivesAsync(HttpClient api, CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        foreach (var stream in Streams.Where(s => s.Stream.Sampled))
        {
            var id = stream.Stream.Id;
            if (stream.Sessions.Count != 1)
            {
                problems.Add($"stream {id}: hellos named {stream.Sessions.Count} sessions");
                continue;
            }

            var sessionId = stream.Sessions.Keys.Single();
            var archive = await api.GetByteArrayAsync($"/api/sessions/{sessionId}/archive", cancellationToken);
            if (archive.Length < stream.Acked || archive.Length > stream.Sent)
            {
                problems.Add($"stream {id}: archive has {archive.Length} bytes; acked {stream.Acked}, sent {stream.Sent}");
            }

            if (Schedule.FirstDifference(0, archive) is var at and >= 0)
            {
                problems.Add($"stream {id}: archive differs from what was sent at byte {at}");
            }
        }

        return problems;
    }

    private async Task RunAsync(LoadSettings settings, CancellationToken cancellationToken)
    {
        using var hard = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        hard.CancelAfter(settings.Duration + HardGrace);
        using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) };
        using var invoker = new HttpMessageInvoker(handler);
        StartedAt = Stopwatch.GetTimestamp();
        var stopAt = StartedAt + Ticks(settings.Duration);
        var measureFrom = StartedAt + Ticks(settings.MeasureAfter);
        var random = new Random(settings.Seed);
        var tasks = new List<Task>();
        for (var i = 0; i < Streams.Count; i++)
        {
            var origin = StartedAt + Ticks(settings.RampUp * i / Streams.Count);
            var twin = i < settings.Duplicates;
            tasks.Add(PublishAsync(i, origin, origin, twin));
            if (twin)
            {
                // The duplicate comes after the ramp-up, between 20 % and 60 % of the rest of the run.
                var rest = settings.Duration - settings.RampUp;
                tasks.Add(PublishAsync(i, origin, StartedAt + Ticks(settings.RampUp + (rest * (0.2 + (0.4 * random.NextDouble())))), twin));
            }
        }

        await Task.WhenAll(tasks);

        async Task PublishAsync(int index, long origin, long startAt, bool twin)
        {
            var publisher = new LoadPublisher(Streams[index], Schedule, settings, Stats, invoker, twin, origin, measureFrom, stopAt, new Random(random.Next()));
            var wait = startAt - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency), hard.Token);
            }

            await publisher.RunAsync(hard.Token);
        }
    }

    private static long Ticks(TimeSpan time) => (long)(time.TotalSeconds * Stopwatch.Frequency);
}

/// <summary>Streams for a load run, created through the admin API.</summary>
public static class LoadStreams
{
    /// <summary>
    /// Creates <paramref name="count"/> streams: the first <paramref name="sampled"/> with an <c>archive</c> output
    /// (checked after the run), the rest with the <c>null</c> output (no process, no file: capacity runs).
    /// </summary>
    public static async Task<IReadOnlyList<LoadStream>> CreateAsync(HttpClient api, int count, int sampled, CancellationToken cancellationToken = default)
    {
        var streams = new LoadStream[count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var output = i < sampled ? "archive" : "null";
                using var response = await api.PostAsJsonAsync("/api/streams", new { outputs = new[] { new { type = output } } }, token);
                var text = await response.Content.ReadAsStringAsync(token);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"POST /api/streams: {(int)response.StatusCode} {text}"));
                }

                var json = JsonDocument.Parse(text).RootElement;
                streams[i] = new LoadStream(json.GetProperty("id").GetString(), new Uri(json.GetProperty("ingestUrl").GetString()!), i < sampled);
            });
        return streams;
    }
}

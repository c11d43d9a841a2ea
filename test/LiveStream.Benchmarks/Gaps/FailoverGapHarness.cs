using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LiveStream.EndToEnd.Tests;
using LiveStream.Testing;

namespace LiveStream.Benchmarks.Gaps;

/// <summary>
/// Failover gaps on real processes (redis-server, two silos, two gateways, real FFmpeg on loopback ports). Each run
/// publishes a fresh stream at the capture's recorded pace over <c>livestream.v1</c> and injects one fault when the
/// chunk at <c>--fault-at-ms</c> is due (every earlier byte acknowledged, a segment already written):
/// <list type="bullet">
/// <item>(a) the ingest stall: the longest a chunk due in the 5 s after the fault waited for its acknowledgement;</item>
/// <item>(b) fault → the first segment in the session's playlist from the FFmpeg that replaced the stopped one
/// (after a new discontinuity), or, where FFmpeg goes on (gateway drain), the first new segment.</item>
/// </list>
/// A run is ok when both were seen, the publisher kept one session id throughout, the stream has that one
/// session, and its archive is the capture byte for byte. A stopped silo or gateway is replaced after its run.
/// </summary>
internal static class FailoverGapHarness
{
    private static readonly TimeSpan Prepare = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    /// <summary>The death-detection tuning of the multi-process failover test: a dead silo is declared dead in about 2 s.</summary>
    public static readonly string[] TunedMembership = RedisCluster.FastDeathDetection;

    /// <summary>Gateway grain calls: a chunk in flight to a dead silo is retried long enough to reach the survivor.</summary>
    private static readonly string[] GatewayCalls =
    [
        "--LiveStream:Ingest:GrainCallTimeout=00:00:05",
        "--LiveStream:Ingest:WriteAttemptTimeout=00:00:01",
    ];

    /// <summary>Timed log lines, to follow a run across the processes' logs.</summary>
    private const string TimedLogs = "--Logging:Console:TimestampFormat=HH:mm:ss.fff ";

    /// <summary>Chunks due this long after the fault count towards the ingest stall (a).</summary>
    private static readonly TimeSpan AckWindow = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args)
    {
        var options = GapOptions.Parse(args);
        var capture = MediaCapture.Load(options.Capture);
        var faultChunk = Enumerable.Range(0, capture.ChunkTimesMs.Count).First(i => capture.ChunkTimesMs[i] >= options.FaultAtMs);
        var results = new List<RunResult>();
        var started = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };

        if (options.Logs is not null)
        {
            // Every process's output is written there when it is disposed (ManagedProcess).
            Environment.SetEnvironmentVariable("LIVESTREAM_TEST_LOGS", options.Logs);
        }

        IReadOnlyList<string> settings = [.. options.Membership, .. GatewayCalls];
        var cluster = await RedisCluster.StartAsync("gaps", silos: 2, gateways: 2, [.. settings, TimedLogs]);
        try
        {
            Console.WriteLine($"cluster up in {started.Elapsed.TotalSeconds:0} s; capture {capture.Name}, fault when chunk {faultChunk} is due ({capture.ChunkTimesMs[faultChunk]:0} ms)");
            await WarmUpAsync(cluster, stop.Token);
            foreach (var scenario in options.Scenarios)
            {
                for (var run = 1; run <= options.Runs && !stop.IsCancellationRequested; run++)
                {
                    RunResult result;
                    try
                    {
                        result = await RunOnceAsync(cluster, capture, scenario, run, faultChunk, options.Logs, stop.Token);
                    }
                    catch (Exception ex) when (!stop.IsCancellationRequested)
                    {
                        result = new RunResult(scenario, run, null, null, false, false, 0, [$"run failed: {ex.GetType().Name}: {ex.Message}"]);
                    }

                    results.Add(result);
                    Console.WriteLine(result.Line());
                    await cluster.WaitReadyAsync();
                }
            }
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // A cluster that does not come back (or Ctrl+C): report what was measured.
            Console.WriteLine($"stopped early: {ex.Message}");
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        var report = Report(results, options, capture, faultChunk, settings, started.Elapsed);
        Console.WriteLine(report);
        if (options.Out is not null)
        {
            await File.WriteAllTextAsync(options.Out, report);
        }

        return 0;
    }

    /// <summary>One stream through the cluster before measuring: JIT, first grain activations, Redis connections.</summary>
    private static async Task WarmUpAsync(RedisCluster cluster, CancellationToken cancellationToken)
    {
        var capture = MediaCapture.Load("audio-only-opus");
        for (var i = 0; i < 2; i++)
        {
            var stream = await ClusterApi.CreateStreamAsync(cluster.Api);
            await using var publisher = new ResumingPublisher(capture, stream, () => cluster.Gateways, i, _ => { });
            await publisher.RunAsync((_, _) => Task.CompletedTask, paced: false, cancellationToken);
        }
    }

    private static async Task<RunResult> RunOnceAsync(RedisCluster cluster, MediaCapture capture, GapScenario scenario, int run, int faultChunk, string? logs, CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        CreatedStream stream;
        using (var api = cluster.ApiOn(cluster.Gateways[0]))
        {
            stream = await ClusterApi.CreateStreamAsync(api);
        }

        Fault? fault = null;
        await using var watcher = new PlaylistWatcher(Path.Combine(cluster.DataPath, "hls"));
        await using var publisher = new ResumingPublisher(capture, stream, () => cluster.Gateways, run, watcher.Watch);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RunTimeout);
        try
        {
            await publisher.RunAsync(
                async (chunk, token) =>
                {
                    if (chunk == faultChunk)
                    {
                        fault = await InjectAsync(cluster, publisher, watcher, scenario, chunk, token);
                    }
                },
                paced: true,
                timeout.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            notes.Add($"publisher failed: {ex.GetType().Name}: {ex.Message}");
        }

        double? gapA = null;
        double? gapB = null;
        if (fault is not null)
        {
            notes.Add(fault.Victim);
            gapA = LongestAckWait(publisher, faultChunk, fault.At, notes);

            // Where the session's FFmpeg goes on (drain), output flows again with its next segment; elsewhere only
            // a segment of the FFmpeg that replaced it counts.
            var continues = scenario == GapScenario.GatewayDrain;
            gapB = watcher.FirstNewSegment(fault.Playlists, fault.At, newFfmpeg: !continues) is { } segment ? Stopwatch.GetElapsedTime(fault.At, segment).TotalMilliseconds : null;
            if (gapB is null)
            {
                notes.Add(continues ? "no new segment after the fault" : "no segment of a new FFmpeg after the fault");
            }

            if (continues && watcher.NewFfmpegSince(fault.Playlists))
            {
                notes.Add("the playlist has a new discontinuity: FFmpeg was restarted");
            }
        }

        notes.AddRange(DescribeConnections(publisher));
        if (logs is not null)
        {
            // The playlists beside the logs, to check (b) by hand.
            Directory.CreateDirectory(logs);
            foreach (var session in publisher.Connections.Select(c => c.SessionId).Distinct())
            {
                var playlist = Path.Combine(cluster.DataPath, "hls", session, "index.m3u8");
                if (File.Exists(playlist))
                {
                    File.Copy(playlist, Path.Combine(logs, $"{scenario}-{run}-{session}.m3u8"), overwrite: true);
                }
            }
        }

        var lossless = false;
        try
        {
            lossless = await CheckNothingLostAsync(cluster, stream, publisher, capture, notes);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            notes.Add($"check failed: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            // The next run starts with two silos and two gateways again.
            if (fault?.Stopped is { } stopped && await ReplaceAsync(cluster, stopped, fault.Grace) is { } note)
            {
                notes.Add(note);
            }
        }

        if (fault?.DeadFfmpeg is { } pid && ProcessProbe.IsRunning(pid))
        {
            notes.Add($"FFmpeg {pid} still runs after its silo was stopped");
        }

        var ok = fault is not null && gapA is not null && gapB is not null && lossless;
        return new RunResult(scenario, run, gapA, gapB, ok, lossless, publisher.Connections.Count - 1, notes);
    }

    /// <summary>
    /// The ingest stall: for each chunk due from the fault until <see cref="AckWindow"/> after it, the time from when
    /// it was due (or from the fault, if later) to the first acknowledgement that covers it; the longest of these.
    /// Null when one of them was never acknowledged.
    /// </summary>
    private static double? LongestAckWait(ResumingPublisher publisher, int faultChunk, long faultAt, List<string> notes)
    {
        var acks = publisher.Acks;
        var longest = 0.0;
        var windowEnd = faultAt + (long)(AckWindow.TotalSeconds * Stopwatch.Frequency);
        for (var i = faultChunk; i < publisher.ChunkCount && publisher.DueAt(i) <= windowEnd; i++)
        {
            if (publisher.ChunkEnd(i) == publisher.ChunkStart(i))
            {
                continue;
            }

            var from = Math.Max(publisher.DueAt(i), faultAt);
            var ack = acks.FirstOrDefault(a => a.At >= from && a.Offset >= publisher.ChunkEnd(i));
            if (ack.At == 0)
            {
                notes.Add($"chunk {i} was never acknowledged");
                return null;
            }

            longest = Math.Max(longest, Stopwatch.GetElapsedTime(from, ack.At).TotalMilliseconds);
        }

        return longest;
    }

    /// <summary>
    /// Waits until output flows (every earlier chunk acknowledged, FFmpeg running, a segment on disk), then stops
    /// the scenario's victim. The fault's time is taken once the signal has been delivered.
    /// </summary>
    private static async Task<Fault> InjectAsync(RedisCluster cluster, ResumingPublisher publisher, PlaylistWatcher watcher, GapScenario scenario, int chunk, CancellationToken cancellationToken)
    {
        await publisher.WaitAckedAsync(publisher.ChunkStart(chunk), Prepare);
        using var api = cluster.ApiOn(cluster.Gateways[0]);
        var session = await Eventually.ReturnsAsync(
            () => ClusterApi.SessionAsync(api, publisher.SessionId!),
            s => s.GetProperty("ffmpeg").GetProperty("pid").ValueKind == JsonValueKind.Number
                && s.GetProperty("silo").ValueKind == JsonValueKind.String
                && watcher.Count > 0,
            Prepare,
            "FFmpeg to run and list a first segment");
        cancellationToken.ThrowIfCancellationRequested();
        var ffmpeg = session.GetProperty("ffmpeg").GetProperty("pid").GetInt32();
        var silo = cluster.Silos[session.GetProperty("silo").GetString()!.Split('@')[0]];
        var playlists = watcher.Now();
        // A stopped process is forgotten first: the publisher reconnects, and the API is asked, elsewhere.
        switch (scenario)
        {
            case GapScenario.SiloKill:
                cluster.Forget(silo);
                silo.Signal("KILL");
                return new Fault(Stopwatch.GetTimestamp(), playlists, $"killed {silo.Name} at {Now()}", silo, TimeSpan.FromSeconds(10), ffmpeg);
            case GapScenario.SiloTerm:
                cluster.Forget(silo);
                silo.Signal("TERM");
                return new Fault(Stopwatch.GetTimestamp(), playlists, $"stopped {silo.Name} at {Now()}", silo, TimeSpan.FromSeconds(60), ffmpeg);
            case GapScenario.GatewayDrain:
                var gateway = cluster.GatewayProcess(publisher.CurrentGateway!);
                cluster.Forget(gateway);
                gateway.Signal("TERM");
                return new Fault(Stopwatch.GetTimestamp(), playlists, $"drained {gateway.Name} at {Now()}", gateway, TimeSpan.FromSeconds(60), null);
            default:
                // Only an FFmpeg of this cluster: its command line names our data folder.
                if (!ProcessProbe.FindFfmpegUnder(cluster.DataPath).Contains(ffmpeg))
                {
                    throw new InvalidOperationException($"pid {ffmpeg} is not an FFmpeg of this cluster");
                }

                using (var process = Process.GetProcessById(ffmpeg))
                {
                    process.Kill();
                }

                return new Fault(Stopwatch.GetTimestamp(), playlists, $"killed FFmpeg {ffmpeg} on {silo.Name} at {Now()}", null, TimeSpan.Zero, null);
        }
    }

    /// <summary>Waits for a stopped silo or gateway to exit (killing it after <paramref name="grace"/>), then starts a new one.</summary>
    private static async Task<string?> ReplaceAsync(RedisCluster cluster, ManagedProcess stopped, TimeSpan grace)
    {
        string? note = null;
        try
        {
            await stopped.WaitForExitAsync(grace);
        }
        catch (TimeoutException)
        {
            note = $"{stopped.Name} still ran {grace.TotalSeconds:0} s after its signal: killed";
            stopped.Signal("KILL");
            await stopped.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        if (stopped.Name.StartsWith("silo", StringComparison.Ordinal))
        {
            await cluster.AddSiloAsync();
        }
        else
        {
            await cluster.AddGatewayAsync();
        }

        return note;
    }

    /// <summary>One session from start to end, with the same id on every connection, whose archive is the capture.</summary>
    private static async Task<bool> CheckNothingLostAsync(RedisCluster cluster, CreatedStream stream, ResumingPublisher publisher, MediaCapture capture, List<string> notes)
    {
        using var api = cluster.ApiOn(cluster.Gateways[0]);
        var ok = true;
        var ids = publisher.Connections.Select(c => c.SessionId).Distinct().ToList();
        if (ids.Count != 1)
        {
            notes.Add("session changed: " + string.Join(" -> ", ids));
            ok = false;
        }

        if (publisher.EndCloseCode != 1000)
        {
            notes.Add($"end answered with {publisher.EndCloseCode?.ToString(CultureInfo.InvariantCulture) ?? "no close"}");
            ok = false;
        }

        var sessions = JsonDocument.Parse(await api.GetStringAsync($"/api/streams/{stream.Id}/sessions")).RootElement;
        if (sessions.GetArrayLength() != 1)
        {
            notes.Add($"{sessions.GetArrayLength()} sessions: " + string.Join("; ", sessions.EnumerateArray().Select(s =>
                $"{s.GetProperty("id").GetString()} {s.GetProperty("state").GetString()} ({s.GetProperty("endReason").GetString()})")));
            ok = false;
        }

        if (ids.Count == 0)
        {
            return false;
        }

        using var response = await api.GetAsync($"/api/sessions/{ids[0]}/archive");
        var archive = response.IsSuccessStatusCode ? await response.Content.ReadAsByteArrayAsync() : [];
        if (Convert.ToHexString(SHA256.HashData(archive)) != capture.Sha256)
        {
            notes.Add($"archive of {ids[0]} differs: {archive.Length} bytes (HTTP {(int)response.StatusCode}), capture {capture.Bytes.Length}");
            ok = false;
        }

        return ok;
    }

    private static IEnumerable<string> DescribeConnections(ResumingPublisher publisher)
    {
        foreach (var connection in publisher.Connections.Skip(1))
        {
            yield return $"reconnected via {connection.Gateway.Authority} after {(connection.PreviousClose is { } close ? "close " + close : "a failed send")}, resumeFrom {connection.ResumeFrom}";
        }

        if (publisher.Refusals.Count > 0)
        {
            yield return "refused: " + string.Join(", ", publisher.Refusals.GroupBy(r => r).Select(g => $"{g.Key} x{g.Count()}"));
        }
    }

    private static string Report(List<RunResult> results, GapOptions options, MediaCapture capture, int faultChunk, IReadOnlyList<string> settings, TimeSpan took)
    {
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Capture `{capture.Name}` ({capture.Bytes.Length} bytes, {capture.DurationMs / 1000:0.0} s, {capture.ChunkSizes.Count} chunks) at its recorded pace; fault when chunk {faultChunk} is due ({capture.ChunkTimesMs[faultChunk]:0} ms). {options.Runs} runs per scenario, {took.TotalMinutes:0.0} min in all. Min, median, p95 (nearest rank) and max over the ok runs, in ms.")
            .AppendLine()
            .AppendLine("| scenario | runs | ok runs | (a) ingest stall: min | median | p95 | max | (b) fault → new segment: min | median | p95 | max |")
            .AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var scenario in options.Scenarios)
        {
            var runs = results.Where(r => r.Scenario == scenario).ToList();
            var ok = runs.Where(r => r.Ok).ToList();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {scenario.Label()} | {runs.Count} | {ok.Count} | {Distribution(ok.Select(r => r.GapA!.Value))} | {Distribution(ok.Select(r => r.GapB!.Value))} |");
        }

        if (GapScenarios.ByName.Values.Except(options.Scenarios).ToList() is { Count: > 0 } skipped)
        {
            text.AppendLine().AppendLine("Not measured in this run: " + string.Join(", ", skipped.Select(s => s.Label())) + ".");
        }

        text.AppendLine()
            .AppendLine("Settings every silo and gateway gets on top of the end-to-end tests' `RedisCluster`: " + string.Join(" ", settings.Select(s => $"`{s}`")) + $"; playlists polled every {PlaylistWatcher.Interval.TotalMilliseconds:0} ms.")
            .AppendLine()
            .AppendLine("Every run:")
            .AppendLine()
            .AppendLine("| scenario | run | (a) ms | (b) ms | reconnects | nothing lost | ok | notes |")
            .AppendLine("|---|---:|---:|---:|---:|---|---|---|");
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Scenario.Label()} | {r.Run} | {Ms(r.GapA)} | {Ms(r.GapB)} | {r.Reconnects} | {(r.Lossless ? "yes" : "no")} | {(r.Ok ? "yes" : "no")} | {string.Join("; ", r.Notes).Replace("|", "/", StringComparison.Ordinal)} |");
        }

        return text.ToString();
    }

    /// <summary>Wall-clock time as the processes' log lines show it.</summary>
    private static string Now() => DateTime.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private static string Ms(double? value) => value is { } v ? v.ToString("0", CultureInfo.InvariantCulture) : "-";

    /// <summary>Min, median, p95 (nearest rank) and max as four table cells.</summary>
    private static string Distribution(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            return "- | - | - | -";
        }

        var p95 = sorted[Math.Max(0, (int)Math.Ceiling(0.95 * sorted.Count) - 1)];
        return $"{Ms(sorted[0])} | {Median(sorted)} | {Ms(p95)} | {Ms(sorted[^1])}";
    }

    private static string Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            return "-";
        }

        var middle = sorted.Count / 2;
        return Ms(sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2);
    }

    /// <summary>
    /// The fault: when its signal was delivered, what was acknowledged and on disk then, and what to replace after
    /// the run (waiting at most <paramref name="Grace"/> for it to exit).
    /// </summary>
    private sealed record Fault(long At, PlaylistWatcher.Snapshot Playlists, string Victim, ManagedProcess? Stopped, TimeSpan Grace, int? DeadFfmpeg);

    private sealed record RunResult(GapScenario Scenario, int Run, double? GapA, double? GapB, bool Ok, bool Lossless, int Reconnects, List<string> Notes)
    {
        public string Line() =>
            $"{Scenario.Label()} run {Run}: (a) {Ms(GapA)} ms, (b) {Ms(GapB)} ms, {(Ok ? "ok" : "NOT OK")}; {string.Join("; ", Notes)}";
    }
}

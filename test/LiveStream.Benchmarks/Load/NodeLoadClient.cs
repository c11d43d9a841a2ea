using System.Globalization;
using System.Text.Json;
using CliWrap;
using LiveStream.Testing;
using LiveStream.Testing.Load;

namespace LiveStream.Benchmarks.Load;

/// <summary>
/// The external load client, <c>test/load-ws/load-ws.mjs</c> (Node and the <c>ws</c> package, one socket per
/// publisher): one paced run against streams of a target. The ingest URLs go to its stdin, never onto its command
/// line (a stream key is a secret). Server and client CPU are read from /proc when it reports the start and the end
/// of its measured window, so they cover the same seconds as its acked bytes.
/// </summary>
internal static class NodeLoadClient
{
    /// <summary>How long past its own hard limit (duration + 2 × 15 s + 5 s) the client may take before it is stopped.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(60);

    private static string Folder => Path.Combine(RepoPaths.Root, "test", "load-ws");

    /// <summary>Why the client cannot run here, or null when it can.</summary>
    public static string? Unavailable()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        if (!path.Split(Path.PathSeparator).Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, "node"))))
        {
            return "node is not on PATH";
        }

        return File.Exists(Path.Combine(Folder, "node_modules", "ws", "package.json"))
            ? null
            : "test/load-ws has no node_modules (`npm ci --prefix test/load-ws`; ./bench.sh runs it)";
    }

    /// <summary>
    /// Runs the client: publishers arrive over <paramref name="ramp"/>, the window measured (acks, CPU) runs from
    /// <paramref name="measureAfter"/> to <paramref name="duration"/>. <paramref name="measuring"/>, when given, is
    /// completed as that window starts (for a caller that does something of its own while the publishers are live).
    /// </summary>
    public static async Task<NodeRun> RunAsync(LoadTarget target, IReadOnlyList<LoadStream> streams, int chunkBytes, double intervalMs, TimeSpan ramp, TimeSpan measureAfter, TimeSpan duration, TaskCompletionSource? measuring = null)
    {
        var capture = Path.Combine(RepoPaths.Media, "h264-opus-mkv", "stream.mkv");
        var clientPid = 0;
        double[]? serverFrom = null;
        double clientFrom = 0;
        var windowStart = 0L;
        NodeRun? window = null;
        JsonElement? summary = null;

        void OnLine(string line)
        {
            JsonElement message;
            try
            {
                using var json = JsonDocument.Parse(line);
                message = json.RootElement.Clone();
            }
            catch (JsonException)
            {
                Console.WriteLine("load-ws: " + line);
                return;
            }

            switch (message.GetProperty("event").GetString())
            {
                case "started":
                    clientPid = message.GetProperty("pid").GetInt32();
                    break;
                case "measuring":
                    (serverFrom, clientFrom, windowStart) = (target.CpuSeconds(), ProcessProbe.CpuSeconds(clientPid), System.Diagnostics.Stopwatch.GetTimestamp());
                    measuring?.TrySetResult();
                    break;
                case "stopping" when serverFrom is not null:
                    var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(windowStart).TotalSeconds;
                    window = new NodeRun(
                        seconds,
                        (target.CpuSeconds().Sum() - serverFrom.Sum()) / seconds,
                        (ProcessProbe.CpuSeconds(clientPid) - clientFrom) / seconds,
                        default);
                    break;
                case "summary":
                    summary = message;
                    break;
            }
        }

        var command = Cli.Wrap("node")
            .WithWorkingDirectory(Folder)
            .WithArguments(args => args
                .Add(Path.Combine(Folder, "load-ws.mjs"))
                .Add("--capture").Add(capture)
                .Add("--chunk-bytes").Add(chunkBytes, CultureInfo.InvariantCulture)
                .Add("--interval-ms").Add(intervalMs, CultureInfo.InvariantCulture)
                .Add("--ramp-up").Add(ramp.TotalSeconds, CultureInfo.InvariantCulture)
                .Add("--measure-after").Add(measureAfter.TotalSeconds, CultureInfo.InvariantCulture)
                .Add("--duration").Add(duration.TotalSeconds, CultureInfo.InvariantCulture))
            .WithStandardInputPipe(PipeSource.FromString(string.Join('\n', streams.Select(s => s.IngestUrl.ToString())) + "\n"))
            .WithStandardOutputPipe(PipeTarget.ToDelegate(OnLine))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(line => Console.WriteLine("load-ws: " + line)))
            .WithValidation(CommandResultValidation.None);

        // SIGINT first, then a kill: the client ends its own run long before either.
        using var forceful = new CancellationTokenSource(duration + Grace + TimeSpan.FromSeconds(10));
        using var graceful = new CancellationTokenSource(duration + Grace);
        CommandResult result;
        try
        {
            result = await command.ExecuteAsync(forceful.Token, graceful.Token);
        }
        finally
        {
            // A client that ended (or was stopped) before its window began must not leave the caller waiting for it.
            measuring?.TrySetException(new InvalidOperationException("load-ws ended before its measured window"));
        }

        if (summary is not { } s || window is null)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"load-ws exited with {result.ExitCode} without a summary of a measured window"));
        }

        return window with { Summary = s };
    }
}

/// <summary>
/// One run of the external client: the measured window's length, the server processes' and the client's CPU over
/// it (cores), and the client's own JSON summary (ack latency, acked Mbit/s, closes by kind).
/// </summary>
internal sealed record NodeRun(double Seconds, double ServerCores, double ClientCores, JsonElement Summary)
{
    public Percentiles Ack => Read("ackMs");

    /// <summary>From each publisher's "end" to its close 1000; every publisher ends in the same moment.</summary>
    public Percentiles EndToClose => Read("endToCloseMs");

    private Percentiles Read(string property)
    {
        var figures = Summary.GetProperty(property);
        double Ms(string name) => figures.GetProperty(name).ValueKind == JsonValueKind.Number ? figures.GetProperty(name).GetDouble() : double.NaN;
        return new Percentiles(figures.GetProperty("count").GetInt32(), Ms("p50"), Ms("p95"), Ms("p99"), Ms("max"));
    }

    public double AckedMbitPerSecond => Summary.GetProperty("ackedMbitPerSecond") is { ValueKind: JsonValueKind.Number } rate ? rate.GetDouble() : double.NaN;

    /// <summary>How <c>ws</c> masked the client's frames (native <c>bufferutil</c>, or a JS loop that costs far more CPU).</summary>
    public string Masking => Summary.GetProperty("masking").GetString() ?? "";

    /// <summary>Closes that were not the planned end of the run, as "kind ×count", or "none".</summary>
    public string Errors
    {
        get
        {
            var errors = Summary.GetProperty("errors").EnumerateObject().Select(e => $"{e.Name} ×{e.Value.GetInt32()}").ToList();
            return errors.Count == 0 ? "none" : string.Join(", ", errors);
        }
    }
}

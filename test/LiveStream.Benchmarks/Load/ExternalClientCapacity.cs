using System.Diagnostics;
using System.Globalization;
using LiveStream.Testing.Load;

namespace LiveStream.Benchmarks.Load;

/// <summary>
/// Capacity measured with the external client (<see cref="NodeLoadClient"/>) instead of the project's generator:
/// publishers stepped up against one target until a step's p99 ack latency reaches the limit, it has errors, or
/// the time budget is spent. Rows for the markdown table of <see cref="LoadHarness"/>.
/// </summary>
internal static class ExternalClientCapacity
{
    public const string Header = "| publishers | ack p50 ms | p95 | p99 | max | acked Mbit/s | server cores | client cores (node) | all end at once: end → close 1000 p50 / max ms | errors | p99 < 100 ms |";
    public const string Alignment = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|";

    /// <summary>A freshly started target spends its first seconds on JIT and start-up work, and node on its own: this run is not reported.</summary>
    private const int WarmUpPublishers = 100;

    public static async Task<CapacitySteps> MeasureAsync(
        LoadTarget target, IEnumerable<int> steps, int chunkBytes, double intervalMs, TimeSpan ramp, TimeSpan settle, TimeSpan measure, TimeSpan budget, double p99LimitMs)
    {
        var started = Stopwatch.GetTimestamp();
        var streams = new List<LoadStream>(await target.StreamsAsync(WarmUpPublishers));
        var (warm, warmFailure) = await TryRunAsync(target, streams, chunkBytes, intervalMs, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(6));
        Console.WriteLine(Invariant($"-- warm-up, {WarmUpPublishers} publishers (node ws): {(warm is null ? warmFailure : $"ack {warm.Ack}, errors {warm.Errors}")}"));

        var rows = new List<string>();
        var passed = 0;
        var exhausted = true;
        var masking = "";
        foreach (var publishers in steps)
        {
            if (Stopwatch.GetElapsedTime(started) > budget)
            {
                exhausted = false;
                rows.Add(Invariant($"| {publishers} | | | | | | | | | not run: over the {budget.TotalSeconds:0} s budget |"));
                break;
            }

            if (streams.Count < publishers)
            {
                streams.AddRange(await target.StreamsAsync(publishers - streams.Count));
            }

            var (run, failure) = await TryRunAsync(target, streams[..publishers], chunkBytes, intervalMs, ramp, ramp + settle, ramp + settle + measure);
            if (run is null)
            {
                exhausted = false;
                rows.Add(Invariant($"| {publishers} | | | | | | | | client failed: {failure} | **no** |"));
                break;
            }

            masking = run.Masking;
            var ack = run.Ack;
            var ok = ack.Count > 0 && ack.P99 < p99LimitMs && run.Errors == "none";
            Console.WriteLine(Invariant($"-- {publishers} publishers (node ws): ack {ack}, {run.AckedMbitPerSecond:0.0} Mbit/s acked, server {run.ServerCores:0.00} cores, client {run.ClientCores:0.00} cores, end → close {run.EndToClose}, errors {run.Errors}"));
            rows.Add(Invariant($"| {publishers} | {ack.P50:0.0} | {ack.P95:0.0} | {ack.P99:0.0} | {ack.Max:0.0} | {run.AckedMbitPerSecond:0.0} | {run.ServerCores:0.00} | {run.ClientCores:0.00} | {run.EndToClose.P50:0} / {run.EndToClose.Max:0} | {run.Errors} | {(ok ? "yes" : "**no**")} |"));
            if (!ok)
            {
                exhausted = false;
                break;
            }

            passed = publishers;
        }

        return new CapacitySteps(rows, passed, exhausted, masking);
    }

    /// <summary>A client that broke is a finding of its own, not a reason to lose the rest of the benchmark.</summary>
    private static async Task<(NodeRun? Run, string? Failure)> TryRunAsync(LoadTarget target, IReadOnlyList<LoadStream> streams, int chunkBytes, double intervalMs, TimeSpan ramp, TimeSpan measureAfter, TimeSpan duration)
    {
        try
        {
            return (await NodeLoadClient.RunAsync(target, streams, chunkBytes, intervalMs, ramp, measureAfter, duration), null);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // OperationCanceledException: the client outlived its own hard limit and was stopped.
            Console.WriteLine(ex.Message);
            return (null, ex.Message);
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The table rows of a capacity run, the largest step that passed, whether every step passed, and how ws masked.</summary>
internal sealed record CapacitySteps(IReadOnlyList<string> Rows, int Passed, bool Exhausted, string Masking)
{
    /// <summary>The "measured" cell of a goal row.</summary>
    public string Measured => Passed.ToString(CultureInfo.InvariantCulture) + (Exhausted ? " (every step passed)" : "");
}

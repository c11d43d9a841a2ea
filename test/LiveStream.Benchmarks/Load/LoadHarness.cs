using System.Diagnostics;
using System.Globalization;
using System.Text;
using LiveStream.Testing;
using LiveStream.Testing.Load;

namespace LiveStream.Benchmarks.Load;

/// <summary>
/// <c>load [--full] [--out FILE] [--cpu-ratios FILE] [--node-only] [--hop-only] [--reconnect-only] [--capacity-only] [--node-steps-cluster N,N…] [--node-steps-embedded N,N…]</c>:
/// the load figures of <c>./bench.sh</c>, all in one run on
/// the same machine: the direct pipe against the cluster path at the same load (CPU per MB, ack latency, their
/// ratio), reconnects under random drops (with every archive checked), then capacity: publishers stepped up on the
/// cluster until the p99 ack latency reaches 100 ms, with memory per session at each step; then the same capacity
/// steps driven by an external client (<see cref="NodeLoadClient"/>) on the cluster path and on the embedded default.
/// Writes a markdown section to FILE. Goals are reported, never asserted.
/// </summary>
internal static class LoadHarness
{
    /// <summary>1 Mbit/s in 500 ms chunks.</summary>
    private const int ChunkBytes = 62_500;
    private const double IntervalMs = 500;
    private const int IdleSeconds = 6;
    private const int SettleSeconds = 5;
    private const double QuietJitCores = 0.002;
    private const int MaxQuietRuns = 6;
    private const double CapacityP99Ms = 100;
    private const int WarmPublishers = 500;
    private const int WarmSeconds = 10;

    /// <summary>The reconnect path's own warm-up: the reconnecting publishers' run, this long, before any is measured.</summary>
    private const int ReconnectWarmSeconds = 8;
    private const int LiveRampSeconds = 10;
    private static readonly Percentiles NoFigures = new(0, double.NaN, double.NaN, double.NaN, double.NaN);

    public static async Task<int> RunAsync(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var profile = args.Contains("--full") ? Profile.Full : Profile.Quick;
        if (Value("--path-publishers") is { } pp)
        {
            profile = profile with { PathPublishers = ParseSteps(pp) };
        }

        var capture = MediaCapture.Load("h264-opus-mkv");
        var md = new StringBuilder();
        var clusterSteps = Value("--node-steps-cluster") is { } c ? ParseSteps(c) : profile.NodeClusterSteps;
        var embeddedSteps = Value("--node-steps-embedded") is { } e ? ParseSteps(e) : profile.NodeEmbeddedSteps;
        if (args.Contains("--node-only"))
        {
            // Only the external client's capacity steps (a run of its own, or a smoke check with small steps).
            Console.WriteLine("== load: cluster path (silo + gateway processes)");
            var only = await MeasureExternalClientAsync(await LoadTarget.StartClusterAsync(), capture, profile, clusterSteps, embeddedSteps, md);
            md.AppendLine("### Goals (reported, not asserted)").AppendLine()
                .AppendLine("| goal | target | measured | met |").AppendLine("|---|---|---|---|")
                .AppendLine(only.ClusterGoal).AppendLine(only.EmbeddedGoal);
            return await WriteAsync(md, Value("--out"));
        }

        if (args.Contains("--capacity-only"))
        {
            // Only the project generator's capacity steps (a run of its own while working on the generator).
            Console.WriteLine("== load: capacity");
            await using var target = await LoadTarget.StartClusterAsync();
            await WarmUpAsync(target, capture, profile);
            AppendCapacity(md, await MeasureCapacityAsync(target, capture, profile), profile);
            return await WriteAsync(md, Value("--out"));
        }

        if (args.Contains("--reconnect-only"))
        {
            // Only the reconnects with publishers live (a run of its own while working on the reconnect path).
            Console.WriteLine(Invariant($"== load: reconnects under drops, {profile.LivePublishers} publishers live"));
            var (only, onlyPipe) = await MeasureReconnectsBothAsync(capture, profile);
            AppendReconnects(md, only, onlyPipe, capture, profile);
            return await WriteAsync(md, Value("--out"));
        }

        // The hop at each load: both paths running side by side, both warmed up, then measured in alternating rounds
        // (pipe then cluster, cluster then pipe, …) so that what the machine does meanwhile falls on both alike; the
        // ratio is that of the medians. One measurement of each, one after the other, moved the ratio at 50
        // publishers between 0.97 and 1.85 in two runs of the same code (performance.md).
        var cluster = await LoadTarget.StartClusterAsync();
        await using var stopCluster = cluster;
        var runs = profile.PathPublishers.ToDictionary(p => p, _ => (Pipe: new List<PathFigures>(), Relay: new List<PathFigures>(), Hop: new List<PathFigures>()));
        string quietNote;
        await using (var pipe = await LoadTarget.StartPipeAsync())
        await using (var relay = await LoadTarget.StartRelayAsync())
        {
            await WarmUpAsync(pipe, capture, profile);
            await WarmUpAsync(relay, capture, profile);
            await WarmUpAsync(cluster, capture, profile);
            quietNote = await WarmUntilQuietAsync([pipe, relay, cluster], capture, profile);
            for (var round = 0; round < profile.HopRounds; round++)
            {
                foreach (var publishers in profile.PathPublishers)
                {
                    var order = round % 2 == 0 ? new[] { pipe, relay, cluster } : [cluster, relay, pipe];
                    foreach (var target in order)
                    {
                        Console.WriteLine(Invariant($"== load: {target.Name}, {publishers} publishers, round {round + 1} of {profile.HopRounds}"));
                        var figures = await MeasurePathAsync(target, capture, profile, publishers);
                        (target == pipe ? runs[publishers].Pipe : target == relay ? runs[publishers].Relay : runs[publishers].Hop).Add(figures);
                    }
                }
            }
        }

        md.AppendLine("### Cluster hop against a direct pipe").AppendLine()
            .AppendLine(Invariant($"{string.Join(" and ", profile.PathPublishers)} publishers, 1 Mbit/s each ({ChunkBytes} B every {IntervalMs} ms, `{capture.Name}` looped), over `livestream.v1`, null sink; {profile.PathSeconds} s, the first {profile.RampSeconds + 1} s (ramp-up) not counted."))
            .AppendLine(Invariant($"Three paths run side by side for the whole section: the direct pipe (one process: WebSocket → sink), the relay (the same pipe forwarding every payload over one loopback TCP connection to a second process, which answers it before the ack: no Orleans, an 8-byte header, no hand-off between threads on the answer; the least any path through two processes costs on this machine) and the cluster path. Each is first warmed up by a run at each load, the largest first, {WarmSeconds} s each, before any load is measured (a light load on a process warmed only by itself measures the tiered JIT's start-up). Then {profile.HopRounds} rounds: in each, every load is measured on each path, one after the other, the order alternating between rounds, so that the machine's own drift falls on both alike. The ratio is that of the medians over the rounds; the per-round ratios are shown beside it (a single pair of measurements moved the ratio at 50 publishers between 0.97 and 1.85 in two runs of the same code)."))
            .AppendLine(quietNote)
            .AppendLine("CPU is the server processes' (utime + stime from /proc); the direct pipe is one process, the relay two (relay + sink), the cluster path a gateway and a silo. Column \"tiered JIT s\": the CPU of the processes' tiered-compilation threads over the whole run (ramp-up included), part of the server CPU.")
            .AppendLine(Invariant($"Idle: the same processes' CPU over {IdleSeconds} s with no traffic, {SettleSeconds} s after the previous run's sessions ended; \"above idle\" takes that rate over the measured window out, leaving the marginal cost of the traffic.")).AppendLine()
            .AppendLine("| publishers | path | round | MB acked | server CPU s (by process) | tiered JIT s | idle cores | CPU s per MB | CPU s per MB above idle | ack p50 ms | p95 | p99 | max | generator cores | errors |")
            .AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        var hopRatios = new List<(int Publishers, double Gross, double Marginal)>();
        var relayFloors = new List<(int Publishers, double RelayOverPipe, double ClusterOverRelay)>();
        foreach (var publishers in profile.PathPublishers)
        {
            var (pipes, relays, hops) = runs[publishers];
            for (var i = 0; i < pipes.Count; i++)
            {
                md.AppendLine(Invariant($"| {publishers} {pipes[i].Row("direct pipe (no Orleans)", i + 1)}"))
                    .AppendLine(Invariant($"| {publishers} {relays[i].Row("relay (pipe → sink process, no Orleans)", i + 1)}"))
                    .AppendLine(Invariant($"| {publishers} {hops[i].Row("cluster path (gateway → silo)", i + 1)}"));
            }

            // The floor: what a second process costs by itself, whatever runs in it.
            var relayOverPipe = RatioRow(md, publishers, "*relay ÷ pipe, medians (the floor of two processes)*", relays, pipes, bold: false);
            var clusterOverPipe = RatioRow(md, publishers, "**cluster ÷ pipe, medians**", hops, pipes, bold: true);
            relayFloors.Add((publishers, relayOverPipe.Marginal, Median(hops, f => f.CpuPerMbAboveIdle) / Median(relays, f => f.CpuPerMbAboveIdle)));
            hopRatios.Add((publishers, clusterOverPipe.Gross, clusterOverPipe.Marginal));
        }

        md.AppendLine();
        if (args.Contains("--hop-only"))
        {
            // Only the hop (a run of its own while working on the per-chunk path).
            return await WriteAsync(md, Value("--out"));
        }

        Console.WriteLine("== load: capacity");
        var capacity = await MeasureCapacityAsync(cluster, capture, profile);
        AppendCapacity(md, capacity, profile);

        // The same capacity question asked with a client that is not the project's generator.
        var external = await MeasureExternalClientAsync(cluster, capture, profile, clusterSteps, embeddedSteps, md);

        Console.WriteLine(Invariant($"== load: reconnects under drops, {profile.LivePublishers} publishers live"));
        // On a fresh cluster of its own, last: a cluster pushed past its capacity keeps the memory it grew, which would
        // skew every figure measured on it afterwards.
        var (reconnect, pipeReconnect) = await MeasureReconnectsBothAsync(capture, profile);
        AppendReconnects(md, reconnect, pipeReconnect, capture, profile);

        var cpuRatios = Value("--cpu-ratios") is { } file && File.Exists(file) ? File.ReadAllLines(file) : [];
        md.AppendLine("### Goals (reported, not asserted)").AppendLine()
            .AppendLine("| goal | target | measured | met |").AppendLine("|---|---|---|---|")
            .AppendLine(Goal("capacity (1 Mbit/s publishers at p99 ack < 100 ms)", "≥ 2000", capacity.Passed.ToString(CultureInfo.InvariantCulture) + (capacity.Exhausted ? " (every step passed)" : ""), capacity.Passed >= 2000))
            .AppendLine(external.ClusterGoal).AppendLine(external.EmbeddedGoal)
            .AppendLine(Goal(Invariant($"memory per session with {profile.LivePublishers} publishers live (in-flight bytes included)"), "≤ 64 KiB", Invariant($"{reconnect.KibPerSession:0} KiB"), reconnect.KibPerSession <= 64))
            .AppendLine(capacity.MemoryPerSessionKib > 0
                ? Goal(Invariant($"memory per session, capacity step of {capacity.MemoryAt} publishers (RSS growth from idle ÷ publishers)"), "≤ 64 KiB", Invariant($"{capacity.MemoryPerSessionKib:0} KiB"), capacity.MemoryPerSessionKib <= 64)
                : Invariant($"| memory per session, capacity step of {capacity.MemoryAt} publishers (RSS growth from idle ÷ publishers) | ≤ 64 KiB | {capacity.MemoryPerSessionKib:0} KiB: RSS fell below idle (GC), no figure | unknown |"))
            .AppendLine(Goal(Invariant($"reconnect → first accepted byte p99 with {profile.LivePublishers} publishers live"), "< 10 ms", Invariant($"{reconnect.ToAck.P99:0.0} ms (→ hello {reconnect.ToHello.P99:0.0} ms)"), reconnect.ToAck.P99 < 10));
        md.AppendLine(Invariant($"| (yardstick) reconnect → first accepted byte p99 on the direct pipe, same live load | | {pipeReconnect.ToAck.P99:0.0} ms (→ hello {pipeReconnect.ToHello.P99:0.0} ms) | |"));
        foreach (var (publishers, gross, marginal) in hopRatios)
        {
            md.AppendLine(Goal(Invariant($"cluster hop CPU per MB ÷ direct pipe at {publishers} publishers (gross, idle work included)"), "≤ 1.5", Invariant($"{gross:0.00}"), gross <= 1.5))
                .AppendLine(Goal(Invariant($"cluster hop CPU per MB ÷ direct pipe at {publishers} publishers, above idle (marginal)"), "≤ 1.5", Invariant($"{marginal:0.00}"), marginal <= 1.5));
        }

        foreach (var (publishers, relayOverPipe, clusterOverRelay) in relayFloors)
        {
            md.AppendLine(Invariant($"| (yardstick) relay ÷ direct pipe at {publishers} publishers, above idle: two processes and nothing else | | {relayOverPipe:0.00} | |"))
                .AppendLine(Invariant($"| (yardstick) cluster hop ÷ relay at {publishers} publishers, above idle: Orleans and LiveStream above two bare processes | | {clusterOverRelay:0.00} | |"));
        }

        foreach (var line in cpuRatios.Where(l => l.Contains('=', StringComparison.Ordinal)))
        {
            var (label, ratio) = (line[..line.IndexOf('=', StringComparison.Ordinal)], double.Parse(line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture));
            md.AppendLine(ratio > 0
                ? Goal($"whole-system CPU per 720p stream ÷ FFmpeg alone, {label}", "≤ 1.2", Invariant($"{ratio:0.00}"), ratio <= 1.2)
                : $"| whole-system CPU per 720p stream ÷ FFmpeg alone, {label} | ≤ 1.2 | {ratio.ToString("0.00", CultureInfo.InvariantCulture)}: idle measured above the stream (noise) | unknown |");
        }

        return await WriteAsync(md, Value("--out"));
    }

    /// <summary>
    /// The reconnects on a fresh cluster path, then the same run on a fresh direct pipe (the yardstick: what one
    /// process with no Orleans gives under the same live load, with the load client on the same cores).
    /// </summary>
    private static async Task<(ReconnectFigures Cluster, ReconnectFigures Pipe)> MeasureReconnectsBothAsync(MediaCapture capture, Profile profile)
    {
        ReconnectFigures cluster;
        await using (var fresh = await LoadTarget.StartClusterAsync())
        {
            cluster = await MeasureReconnectsAsync(fresh, capture, profile);
        }

        Console.WriteLine(Invariant($"== load: reconnects under drops on the direct pipe, {profile.LivePublishers} publishers live"));
        await using var pipe = await LoadTarget.StartPipeAsync();
        return (cluster, await MeasureReconnectsAsync(pipe, capture, profile));
    }

    private static void AppendReconnects(StringBuilder md, ReconnectFigures reconnect, ReconnectFigures pipe, MediaCapture capture, Profile profile) =>
        md.AppendLine("### Reconnects under random drops, and memory per session, with publishers live").AppendLine()
            .AppendLine(Invariant($"A fresh cluster path (silo + gateway processes), warmed up by {WarmPublishers} publishers for {WarmSeconds} s, then by the reconnecting publishers' run below for {ReconnectWarmSeconds} s on streams of their own (no publishers live yet; its reconnects are the \"cold\" figures after the table). {profile.LivePublishers} publishers at 1 Mbit/s ({ChunkBytes} B every {IntervalMs} ms, null output) are ramped up over {LiveRampSeconds} s, settle for {profile.NodeSettleSeconds} s and stay live; they are driven by the external client of the section above (Node ws, a process of its own, as real publishers are) where it can run (column \"live client\"), else by the project's generator. Then {profile.ReconnectPublishers} more publishers send `{capture.Name}` (its own chunks, at their recorded times, looped) to streams with an `archive` output for {profile.ReconnectSeconds} s; each drops its socket abruptly (no close frame) after a random 1 to 3 s, reopens it at once and resends from `hello.resumeFrom`."))
            .AppendLine("Reconnect → upgrade: socket reopened (connect started) → the WebSocket upgrade answered (TCP, HTTP and the server's accept; on the cluster path no grain call yet). Reconnect → hello: → `hello` (on the cluster path after the stream grain's `Connect`). Reconnect → first accepted byte: → the first `ack` of a byte sent on the new socket. The live publishers' own ack latency (from the end of their settle to their end) is shown beside.")
            .AppendLine(Invariant($"Memory per session: gateway + silo RSS with every publisher live (sampled once the reconnecting publishers are under way) minus their RSS just before the live publishers started, ÷ the live publishers. It includes the bytes in flight: a gateway connection rents its receive buffer only while a message is arriving (an idle one holds none), and a 62.5 KB chunk is in flight about once per 500 ms.")).AppendLine()
            .AppendLine("The same run on a fresh direct pipe (one process, no Orleans: the yardstick of the hop section) is the second row: what this machine gives a reconnect under the same live load, with every client on the same 2 cores. It keeps no archive, so its archives are not checked.")
            .AppendLine("| path | live publishers | live client | drops | reconnect → upgrade p99 ms | reconnect → hello p50 ms | p99 | max | reconnect → first accepted byte p50 ms | p99 | max | archives equal to what was sent | live ack p50 ms | live ack p99 ms | server cores | gateway + silo RSS MiB (before → live) | KiB per live session | errors |")
            .AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
            .AppendLine(reconnect.Row).AppendLine(pipe.Row).AppendLine()
            .AppendLine(Invariant($"Cold: the warm-up's reconnects, the first of the servers' takeover and resume code and of this process's connects, reconnect → first accepted byte p50 {reconnect.ColdToAck.P50:0.0} ms, p99 {reconnect.ColdToAck.P99:0.0} ms, max {reconnect.ColdToAck.Max:0.0} ms (n={reconnect.ColdToAck.Count}) on the cluster path, p50 {pipe.ColdToAck.P50:0.0}, p99 {pipe.ColdToAck.P99:0.0}, max {pipe.ColdToAck.Max:0.0} ms (n={pipe.ColdToAck.Count}) on the pipe, with no publishers live. Measured, a running server's reconnect path; these, a young process's (the JIT) and the measuring client's.")).AppendLine();

    private static void AppendCapacity(StringBuilder md, CapacityFigures capacity, Profile profile)
    {
        md.AppendLine("### Capacity and memory per session").AppendLine()
            .AppendLine(Invariant($"The cluster path, null output. Publishers at 1 Mbit/s ({ChunkBytes} B every {IntervalMs} ms) are stepped up; each step ramps up over {profile.StepRampSeconds} s, settles for {profile.NodeSettleSeconds} s once the last publisher has arrived (as the external client's steps below do: an arrival of hundreds of publishers a second is a storm of its own, not the steady state capacity is about), is measured for {profile.StepMeasureSeconds} s and ends its sessions. It stops at the first step whose p99 ack latency is {CapacityP99Ms} ms or more, or that has errors, or after {profile.CapacityBudget.TotalMinutes:0.#} min."))
            .AppendLine("Capacity is the largest step that passed. Column \"KiB per added session\": the growth of gateway + silo RSS (near the end of each step, sessions live) from the step before, ÷ the publishers added (the first step against the idle RSS after the warm-up; RSS moves with the GC, whose budgets grow with the load, so small steps are noisy). The goal's figure is the step at the goal's load (or the last that passed below it): its RSS minus the idle RSS, ÷ its publishers. It includes the bytes in flight: a gateway connection rents its receive buffer only while a message is arriving (an idle one holds none), and a 62.5 KB chunk is in flight about once per 500 ms.")
            .AppendLine("The load generator runs on the same 2 cores; its CPU is shown.").AppendLine()
            .AppendLine("| publishers | ack p50 ms | p95 | p99 | max | acked Mbit/s | server cores | generator cores | gateway + silo RSS MiB | KiB per added session | errors | p99 < 100 ms |")
            .AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        capacity.Rows.ForEach(r => md.AppendLine(r));
        md.AppendLine();
    }

    private static async Task<int> WriteAsync(StringBuilder md, string? output)
    {
        Console.WriteLine(md);
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, md.ToString());
        }

        return 0;
    }

    /// <summary>
    /// Capacity steps driven by the external client: on <paramref name="cluster"/> (which it then stops), then on a
    /// fresh embedded default. Appends the section to <paramref name="md"/>.
    /// </summary>
    private static async Task<ExternalFigures> MeasureExternalClientAsync(LoadTarget cluster, MediaCapture capture, Profile profile, int[] clusterSteps, int[] embeddedSteps, StringBuilder md)
    {
        var unavailable = NodeLoadClient.Unavailable();
        CapacitySteps? nodeCluster = null;
        await using (cluster)
        {
            if (unavailable is null)
            {
                Console.WriteLine("== load: capacity with an external client (Node ws), cluster path");
                nodeCluster = await MeasureWithNodeAsync(cluster, clusterSteps, profile);
            }
        }

        CapacitySteps? nodeEmbedded = null;
        if (unavailable is null)
        {
            Console.WriteLine("== load: capacity with an external client (Node ws), embedded default");
            await using var embedded = await LoadTarget.StartEmbeddedAsync();
            nodeEmbedded = await MeasureWithNodeAsync(embedded, embeddedSteps, profile);
        }

        md.AppendLine("### Capacity with an external client (Node ws)").AppendLine()
            .AppendLine(Invariant($"The same steps, driven by `test/load-ws/load-ws.mjs` instead of the project's generator, so the figures do not depend on one generator's shape: Node {NodeVersion()} with the `ws` package (versions pinned in `test/load-ws/package-lock.json`), a separate process on the same 2 cores, one socket per publisher, `livestream.v1` written from docs/protocol.md alone (no project code), 1 Mbit/s each ({ChunkBytes} B every {IntervalMs} ms of `{capture.Name}` looped), each chunk sent when due once the previous one is written to its socket, `end` once all is acked, no reconnects."))
            .AppendLine(Invariant($"Each step ramps up over {profile.StepRampSeconds} s, settles for {profile.NodeSettleSeconds} s once the last publisher has arrived (as the generator's steps above do) and is measured for {profile.StepMeasureSeconds} s; it stops at the first step whose p99 ack latency is {CapacityP99Ms} ms or more, or that has errors, or after {profile.NodeCapacityBudget.TotalSeconds:0} s per target. Each target first gets a 6 s warm-up run of 100 publishers, not reported."))
            .AppendLine("Client cores: the node process's own utime + stime (/proc) over the measured window; server cores: the server processes' over the same window. Acked Mbit/s is the client's count over that window.")
            .AppendLine(Invariant($"`ws` masks frames with {nodeCluster?.Masking ?? nodeEmbedded?.Masking ?? "(not run)"}. The embedded default is one gateway process hosting its silo, as `./run.sh` starts it.")).AppendLine();
        if (unavailable is not null)
        {
            md.AppendLine("Not run: " + unavailable + ".").AppendLine();
        }
        else
        {
            md.AppendLine("Cluster path (silo + gateway processes):").AppendLine()
                .AppendLine(ExternalClientCapacity.Header).AppendLine(ExternalClientCapacity.Alignment);
            nodeCluster!.Rows.ToList().ForEach(r => md.AppendLine(r));
            md.AppendLine().AppendLine("Embedded default (one process):").AppendLine()
                .AppendLine(ExternalClientCapacity.Header).AppendLine(ExternalClientCapacity.Alignment);
            nodeEmbedded!.Rows.ToList().ForEach(r => md.AppendLine(r));
            md.AppendLine();
        }

        return new ExternalFigures(
            NodeGoal("capacity with an external client (Node ws), cluster path", 2000, nodeCluster, unavailable),
            NodeGoal("capacity with an external client (Node ws), embedded default", 3000, nodeEmbedded, unavailable));
    }

    private static int[] ParseSteps(string list) => [.. list.Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture))];

    private static Task<CapacitySteps> MeasureWithNodeAsync(LoadTarget target, int[] steps, Profile profile) =>
        ExternalClientCapacity.MeasureAsync(
            target,
            steps.Where(s => s <= profile.MaxPublishers),
            ChunkBytes,
            IntervalMs,
            TimeSpan.FromSeconds(profile.StepRampSeconds),
            TimeSpan.FromSeconds(profile.NodeSettleSeconds),
            TimeSpan.FromSeconds(profile.StepMeasureSeconds),
            profile.NodeCapacityBudget,
            CapacityP99Ms);

    private static string NodeGoal(string what, int target, CapacitySteps? steps, string? unavailable) => steps is null
        ? $"| {what} | ≥ {target} | not run: {unavailable} | unknown |"
        : Goal(what, Invariant($"≥ {target}"), steps.Measured, steps.Passed >= target);

    private static string NodeVersion()
    {
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", ["--version"]) { RedirectStandardOutput = true });
            var version = node!.StandardOutput.ReadLine();
            node.WaitForExit(5000);
            return version ?? "?";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "(missing)";
        }
    }

    /// <summary>
    /// A warm-up run at each load the path is measured at, the largest first, before any is measured. A freshly
    /// started silo and gateway spend about a core for several seconds on tiered JIT and Orleans' start-up work, and
    /// at a light load the tiered compiler goes on for minutes (a method is recompiled once it has been called often
    /// enough): a light load measured on a process warmed only by itself measured that start-up (the cluster path
    /// at 50 publishers cost 0.2 core there, 0.06 core on a process that had carried 300 publishers).
    /// </summary>
    private static async Task WarmUpAsync(LoadTarget target, MediaCapture capture, Profile profile)
    {
        foreach (var publishers in profile.PathPublishers.OrderDescending())
        {
            var warm = LoadRun.Start(await target.StreamsAsync(publishers), capture, Paced(publishers, TimeSpan.FromSeconds(WarmSeconds), TimeSpan.FromSeconds(profile.RampSeconds)));
            await warm.Completion;
        }
    }

    private static async Task<PathFigures> MeasurePathAsync(LoadTarget target, MediaCapture capture, Profile profile, int publishers)
    {
        // The servers' own idle work (Orleans' timers, membership, metrics): two processes have more of it than one,
        // whatever the traffic, so the marginal cost per MB is reported beside the gross one. Measured once the
        // warm-up's sessions have ended and settled (their GC and deactivations belong to the traffic's cost).
        await Task.Delay(TimeSpan.FromSeconds(SettleSeconds));
        var idleFrom = target.CpuSeconds().Sum();
        var idleStart = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(IdleSeconds));
        var idleCores = (target.CpuSeconds().Sum() - idleFrom) / Stopwatch.GetElapsedTime(idleStart).TotalSeconds;

        var settings = Paced(publishers, TimeSpan.FromSeconds(profile.PathSeconds), TimeSpan.FromSeconds(profile.RampSeconds)) with
        {
            MeasureAfter = TimeSpan.FromSeconds(profile.RampSeconds + 1),
        };
        var jit = target.Processes.Select(p => TieredJitWatch.Start(p.Id)).ToArray();
        var run = LoadRun.Start(await target.StreamsAsync(settings.Publishers), capture, settings);
        var window = await MeasureWindowAsync(run, target, settings.MeasureAfter, settings.Duration);
        await run.Completion;
        var jitSeconds = await StopAllAsync(jit);
        var byProcess = string.Join(" + ", target.Processes.Select((p, i) => Invariant($"{p.Name} {window.CpuByProcess[i]:0.00}")));
        var figures = new PathFigures(window.AckedBytes / 1e6, window.ServerCpu, byProcess, run.Stats.AckLatency(), window.GeneratorCpu / window.Seconds, Errors(run.Stats), idleCores, window.Seconds, jitSeconds);
        Console.WriteLine(run.Stats.Describe(TimeSpan.FromSeconds(window.Seconds)));
        return figures;
    }

    /// <summary>
    /// Paced runs at the lightest load on every target in turn, after the warm-up, until no process's tiered compiler
    /// took <see cref="QuietJitCores"/> or more over its run (at most <see cref="MaxQuietRuns"/> rounds). A light load
    /// reaches some of its methods only a few times a second, so the tiered JIT goes on recompiling them for minutes
    /// (a profile of the cluster path at 50 publishers 35 s after start put 14% of its CPU in the silo's and the
    /// gateway's tiered-compilation threads); measured then, the hop's figure was a young process's, and a server
    /// that has carried streams for a while no longer pays it. Returns the sentence that says how it went.
    /// </summary>
    private static async Task<string> WarmUntilQuietAsync(LoadTarget[] targets, MediaCapture capture, Profile profile)
    {
        var publishers = profile.PathPublishers.Min();
        var worst = double.NaN;
        var rounds = 0;
        while (rounds < MaxQuietRuns && !(worst < QuietJitCores))
        {
            rounds++;
            worst = 0;
            foreach (var target in targets)
            {
                var jit = target.Processes.Select(p => TieredJitWatch.Start(p.Id)).ToArray();
                var started = Stopwatch.GetTimestamp();
                var run = LoadRun.Start(await target.StreamsAsync(publishers), capture, Paced(publishers, TimeSpan.FromSeconds(profile.PathSeconds), TimeSpan.FromSeconds(profile.RampSeconds)));
                await run.Completion;
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                foreach (var (watch, process) in jit.Zip(target.Processes))
                {
                    var cores = await watch.StopAsync() / seconds;
                    await watch.DisposeAsync();
                    worst = Math.Max(worst, cores);
                    Console.WriteLine(Invariant($"quiet-up {rounds}, {target.Name}: {process.Name}'s tiered compiler {cores:0.00000} cores"));
                }
            }
        }

        return Invariant($"Then paced runs of {publishers} publishers on each path in turn until no process's tiered compiler took {QuietJitCores} cores or more over its run (at most {MaxQuietRuns} rounds): {rounds} rounds, the busiest tiered compiler of the last at {worst:0.0000} cores. Light load reaches some methods only a few times a second, and the tiered JIT recompiles them for minutes: a young process's cost, not a running server's.");
    }

    private static async Task<double> StopAllAsync(TieredJitWatch[] watches)
    {
        var seconds = 0.0;
        foreach (var watch in watches)
        {
            seconds += await watch.StopAsync();
            await watch.DisposeAsync();
        }

        return seconds;
    }

    private static async Task<ReconnectFigures> MeasureReconnectsAsync(LoadTarget target, MediaCapture capture, Profile profile)
    {
        var settings = new LoadSettings
        {
            Publishers = profile.ReconnectPublishers,
            Loop = true,
            RampUp = TimeSpan.FromSeconds(1),
            Duration = TimeSpan.FromSeconds(profile.ReconnectSeconds),
            DropEvery = TimeSpan.FromSeconds(2),
        };
        var reconnecting = await target.StreamsAsync(settings.Publishers, sampled: settings.Publishers);

        // A fresh process is warmed up first (JIT, first activations): thousands of publishers arriving at a cold
        // process within seconds is a measure of the start-up, not of the reconnect path.
        var warm = LoadRun.Start(await target.StreamsAsync(WarmPublishers), capture, Paced(WarmPublishers, TimeSpan.FromSeconds(WarmSeconds), TimeSpan.FromSeconds(profile.RampSeconds)));
        await warm.Completion;

        // The reconnect path warmed up too, by the same kind of run on streams of its own (its reconnects shown
        // apart, as "cold"): the paced warm-up drops no socket, so the servers' takeover and resume code and this
        // process's connect code ran for the first time in the measured run, and its first few reconnects, a p99's
        // worth of 262, took the JIT's time (an idle cluster: p50 4.5-5.3 ms, p99 14-18 ms with them, 1.3-1.6 and
        // 4.8-8.1 ms without; performance.md).
        var cold = LoadRun.Start(await target.StreamsAsync(settings.Publishers, sampled: settings.Publishers), capture, settings with { Duration = TimeSpan.FromSeconds(ReconnectWarmSeconds) });
        await cold.Completion;
        IReadOnlyList<string> coldProblems = target.Api is null ? [] : await cold.CheckArchivesAsync(target.Api);
        coldProblems.ToList().ForEach(Console.WriteLine);
        Console.WriteLine("reconnect warm-up: " + cold.Stats.Describe(Stopwatch.GetElapsedTime(cold.StartedAt)));

        // The live publishers: ramped up first, settled, then live for the whole reconnect run and a little after it.
        // They are driven by the external client when it can run (a process of its own, like the publishers of a
        // real deployment; the project's generator would share this process's threads with the reconnecting
        // publishers whose latency is measured), else by the project's generator.
        var liveRamp = TimeSpan.FromSeconds(LiveRampSeconds);
        var liveFrom = liveRamp + TimeSpan.FromSeconds(profile.NodeSettleSeconds);
        var liveFor = liveFrom + settings.Duration + TimeSpan.FromSeconds(2);
        var liveStreams = await target.StreamsAsync(profile.LivePublishers);
        await Task.Delay(TimeSpan.FromSeconds(SettleSeconds));
        var rssBefore = target.RssBytes();
        Console.WriteLine("RSS before the live publishers: " + target.RssByProcess());
        var live = new LiveLoad(target, capture, liveStreams, liveRamp, liveFrom, liveFor);
        var liveFailure = await live.StartedAsync();
        if (liveFailure is not null)
        {
            return new ReconnectFigures(NoFigures, NoFigures, NoFigures, double.NaN, Invariant($"| {target.Name} | {profile.LivePublishers} | | | | | | | | | | | | | | | | live publishers failed: {liveFailure} |"));
        }

        var cpu0 = target.CpuSeconds().Sum();
        var started = Stopwatch.GetTimestamp();
        var run = LoadRun.Start(reconnecting, capture, settings);
        await Task.Delay(settings.Duration / 2);
        var rssLive = target.RssBytes();
        Console.WriteLine("RSS with them live: " + target.RssByProcess());
        await run.Completion;
        var cores = (target.CpuSeconds().Sum() - cpu0) / Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (liveAck, liveErrors) = await live.CompletedAsync();
        Console.WriteLine(run.Stats.Describe(Stopwatch.GetElapsedTime(run.StartedAt)));
        Console.WriteLine(Invariant($"live publishers ({live.Client}): ack {liveAck}, errors {liveErrors}"));
        IReadOnlyList<string> problems = target.Api is null ? [] : await run.CheckArchivesAsync(target.Api);
        problems.ToList().ForEach(Console.WriteLine);
        var toHello = run.Stats.ReconnectToHello();
        var toAck = run.Stats.ReconnectToAck();
        var kib = (rssLive - rssBefore) / 1024.0 / profile.LivePublishers;
        var archives = target.Api is null ? "not kept" : problems.Count == 0 ? $"{settings.Publishers} of {settings.Publishers}" : $"no: {problems.Count} problems, first: {problems[0]}";
        var errors = string.Join("; ", new[] { ("reconnecting", Errors(run.Stats)), ("warm-up", coldProblems.Count == 0 ? Errors(cold.Stats) : $"{coldProblems.Count} archives not equal"), ("live", liveErrors) }.Where(e => e.Item2 != "none").Select(e => $"{e.Item1}: {e.Item2}"));
        return new ReconnectFigures(
            toHello,
            toAck,
            cold.Stats.ReconnectToAck(),
            kib,
            Invariant($"| {target.Name} | {profile.LivePublishers} | {live.Client} | {run.Stats.Drops} | {run.Stats.ReconnectToUpgrade().P99:0.0} | {toHello.P50:0.0} | {toHello.P99:0.0} | {toHello.Max:0.0} | {toAck.P50:0.0} | {toAck.P99:0.0} | {toAck.Max:0.0} | {archives} | {liveAck.P50:0.0} | {liveAck.P99:0.0} | {cores:0.00} | {rssBefore / 1048576.0:0} → {rssLive / 1048576.0:0} | {kib:0} | {(errors.Length == 0 ? "none" : errors)} |"));
    }

    private static async Task<CapacityFigures> MeasureCapacityAsync(LoadTarget target, MediaCapture capture, Profile profile)
    {
        var previousRss = target.RssBytes();
        var idleRss = previousRss;
        var previousPublishers = 0;
        var streams = new List<LoadStream>();
        var rows = new List<string>();
        var passed = 0;
        var memoryKib = double.NaN;
        var memoryAt = 0;
        var exhausted = true;
        var started = Stopwatch.GetTimestamp();
        foreach (var publishers in profile.CapacitySteps.Where(s => s <= profile.MaxPublishers))
        {
            if (Stopwatch.GetElapsedTime(started) > profile.CapacityBudget)
            {
                exhausted = false;
                rows.Add(Invariant($"| {publishers} | | | | | | | | | | | not run: over the {profile.CapacityBudget.TotalMinutes:0.#} min budget |"));
                break;
            }

            streams.AddRange(await target.StreamsAsync(publishers - streams.Count));
            var ramp = TimeSpan.FromSeconds(profile.StepRampSeconds);
            var from = ramp + TimeSpan.FromSeconds(profile.NodeSettleSeconds);
            var settings = Paced(publishers, from + TimeSpan.FromSeconds(profile.StepMeasureSeconds), ramp) with { MeasureAfter = from };
            var run = LoadRun.Start(streams[..publishers], capture, settings);
            var window = await MeasureWindowAsync(run, target, settings.MeasureAfter, settings.Duration - TimeSpan.FromSeconds(0.5));
            var rss = target.RssBytes();
            await run.Completion;
            Console.WriteLine(Invariant($"-- {publishers} publishers:\n{run.Stats.Describe(TimeSpan.FromSeconds(window.Seconds))}"));
            var ack = run.Stats.AckLatency();
            var errors = Errors(run.Stats);
            var ok = ack.Count > 0 && ack.P99 < CapacityP99Ms && errors == "none";
            var perSession = (rss - previousRss) / 1024.0 / (publishers - previousPublishers);
            (previousRss, previousPublishers) = (rss, publishers);
            rows.Add(Invariant($"| {publishers} | {ack.P50:0.0} | {ack.P95:0.0} | {ack.P99:0.0} | {ack.Max:0.0} | {window.AckedBytes * 8 / 1e6 / window.Seconds:0.0} | {window.ServerCpu / window.Seconds:0.00} | {window.GeneratorCpu / window.Seconds:0.00} | {rss / 1048576.0:0} | {perSession:0} | {errors} | {(ok ? "yes" : "**no**")} |"));
            if (!ok)
            {
                exhausted = false;
                break;
            }

            // A saturated step queues chunks everywhere, so memory is taken from a step that kept up: the one at the
            // goal's load (every session's RSS from idle, ÷ its publishers), or the last that passed below it. The
            // growth between two steps (the table's column) also counts the GC's larger budgets under more load.
            passed = publishers;
            if (memoryAt < profile.LivePublishers)
            {
                (memoryKib, memoryAt) = ((rss - idleRss) / 1024.0 / publishers, publishers);
            }
        }

        return new CapacityFigures(rows, passed, memoryKib, memoryAt, exhausted);
    }

    /// <summary>CPU and acked bytes between two points of a run (seconds after its start).</summary>
    private static async Task<Window> MeasureWindowAsync(LoadRun run, LoadTarget target, TimeSpan from, TimeSpan to)
    {
        await Task.Delay(from - Stopwatch.GetElapsedTime(run.StartedAt) is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
        var (cpu0, gen0, bytes0, t0) = (target.CpuSeconds(), ProcessProbe.CpuSeconds(Environment.ProcessId), run.Stats.BytesAcked, Stopwatch.GetTimestamp());
        await Task.Delay(to - Stopwatch.GetElapsedTime(run.StartedAt) is var rest && rest > TimeSpan.Zero ? rest : TimeSpan.Zero);
        var cpu = target.CpuSeconds().Zip(cpu0, (after, before) => after - before).ToArray();
        return new Window(
            Stopwatch.GetElapsedTime(t0).TotalSeconds,
            cpu,
            ProcessProbe.CpuSeconds(Environment.ProcessId) - gen0,
            run.Stats.BytesAcked - bytes0);
    }

    /// <summary>
    /// One "A ÷ B, medians" row of the hop table: CPU per MB gross and above idle (with the per-round ratios beside
    /// it) and the ack percentiles, each the ratio of the medians over the rounds. Returns the two CPU ratios.
    /// </summary>
    private static (double Gross, double Marginal) RatioRow(StringBuilder md, int publishers, string label, List<PathFigures> over, List<PathFigures> under, bool bold)
    {
        double Ratio(Func<PathFigures, double> value) => Median(over, value) / Median(under, value);
        var (b, gross, marginal) = (bold ? "**" : "", Ratio(f => f.CpuPerMb), Ratio(f => f.CpuPerMbAboveIdle));
        var rounds = string.Join(", ", under.Zip(over, (u, o) => (o.CpuPerMbAboveIdle / u.CpuPerMbAboveIdle).ToString("0.00", CultureInfo.InvariantCulture)));
        md.AppendLine(Invariant($"| {publishers} | {label} | | | | | | {b}{gross:0.00}{b} | {b}{marginal:0.00}{b} (rounds: {rounds}) | {Ratio(f => f.Ack.P50):0.00} | {Ratio(f => f.Ack.P95):0.00} | {b}{Ratio(f => f.Ack.P99):0.00}{b} | | | |"));
        return (gross, marginal);
    }

    private static double Median<T>(IEnumerable<T> items, Func<T, double> value)
    {
        var sorted = items.Select(value).Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static LoadSettings Paced(int publishers, TimeSpan duration, TimeSpan ramp) => new()
    {
        Publishers = publishers,
        ChunkBytes = ChunkBytes,
        IntervalMs = IntervalMs,
        Loop = true,
        RampUp = ramp,
        Duration = duration,
    };

    private static string Errors(LoadStats stats) =>
        stats.Errors.Any() ? string.Join(", ", stats.Errors.Select(e => $"{e.Key} ×{e.Value}")) : "none";

    private static string Goal(string what, string target, string measured, bool met) => $"| {what} | {target} | {measured} | {(met ? "yes" : "**no**")} |";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Window(double Seconds, double[] CpuByProcess, double GeneratorCpu, long AckedBytes)
    {
        public double ServerCpu => CpuByProcess.Sum();
    }

    private sealed record PathFigures(double MegabytesAcked, double ServerCpu, string ByProcess, Percentiles Ack, double GeneratorCores, string Errors, double IdleCores, double Seconds, double JitSeconds)
    {
        public double CpuPerMb => ServerCpu / MegabytesAcked;

        /// <summary>CPU per MB once the servers' idle work over the same time is taken out: the marginal cost of the traffic.</summary>
        public double CpuPerMbAboveIdle => Math.Max(0, ServerCpu - (IdleCores * Seconds)) / MegabytesAcked;

        public string Row(string label, int round) => Invariant(
            $"| {label} | {round} | {MegabytesAcked:0.0} | {ServerCpu:0.00} ({ByProcess}) | {JitSeconds:0.000} | {IdleCores:0.000} | {CpuPerMb:0.0000} | {CpuPerMbAboveIdle:0.0000} | {Ack.P50:0.0} | {Ack.P95:0.0} | {Ack.P99:0.0} | {Ack.Max:0.0} | {GeneratorCores:0.00} | {Errors} |");
    }

    /// <summary>
    /// The live publishers of the reconnect run: the external client when it can run here, else the project's
    /// generator. <see cref="StartedAsync"/> returns once they are all live and settled (or why they failed).
    /// </summary>
    private sealed class LiveLoad
    {
        private readonly TaskCompletionSource _measuring = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task<NodeRun>? _node;
        private readonly LoadRun? _generator;
        private readonly TimeSpan _from;

        public LiveLoad(LoadTarget target, MediaCapture capture, IReadOnlyList<LoadStream> streams, TimeSpan ramp, TimeSpan from, TimeSpan duration)
        {
            _from = from;
            if (NodeLoadClient.Unavailable() is null)
            {
                Client = "node ws";
                _node = NodeLoadClient.RunAsync(target, streams, ChunkBytes, IntervalMs, ramp, from, duration, _measuring);
            }
            else
            {
                Client = "generator";
                _generator = LoadRun.Start(streams, capture, Paced(streams.Count, duration, ramp) with { MeasureAfter = from });
            }
        }

        public string Client { get; }

        public async Task<string?> StartedAsync()
        {
            if (_generator is not null)
            {
                await Task.Delay(_from);
                return null;
            }

            try
            {
                await _measuring.Task;
                return null;
            }
            catch (InvalidOperationException)
            {
                return (await CompletedAsync()).Errors;
            }
        }

        /// <summary>The live publishers' ack latency over their measured window, and their errors ("none").</summary>
        public async Task<(Percentiles Ack, string Errors)> CompletedAsync()
        {
            if (_generator is not null)
            {
                await _generator.Completion;
                return (_generator.Stats.AckLatency(), Errors(_generator.Stats));
            }

            try
            {
                var run = await _node!;
                return (run.Ack, run.Errors);
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
            {
                return (NoFigures, "client failed: " + ex.Message);
            }
        }
    }

    private sealed record ExternalFigures(string ClusterGoal, string EmbeddedGoal);

    private sealed record ReconnectFigures(Percentiles ToHello, Percentiles ToAck, Percentiles ColdToAck, double KibPerSession, string Row);

    private sealed record CapacityFigures(List<string> Rows, int Passed, double MemoryPerSessionKib, int MemoryAt, bool Exhausted);

    private sealed record Profile(
        int[] PathPublishers,
        int PathSeconds,
        int HopRounds,
        int RampSeconds,
        int ReconnectPublishers,
        int ReconnectSeconds,
        int LivePublishers,
        int StepRampSeconds,
        int StepMeasureSeconds,
        int MaxPublishers,
        TimeSpan CapacityBudget,
        int[] NodeClusterSteps,
        int[] NodeEmbeddedSteps,
        TimeSpan NodeCapacityBudget,
        int NodeSettleSeconds,
        int[] CapacitySteps)
    {
        // The external client's steps are fewer and larger than the generator's: in quick mode they reach the goals
        // (2000 on the cluster path, 3000 embedded) within about 3 min when every step passes.
        public static readonly Profile Quick = new([50, 1000], 15, 5, 2, 40, 30, 2000, 3, 5, 4000, TimeSpan.FromSeconds(75), [500, 1000, 1500, 2000], [500, 1000, 2000, 3000], TimeSpan.FromSeconds(75), 3, [500, 1000, 1500, 2000, 2500]);
        public static readonly Profile Full = new([50, 1000], 30, 5, 5, 100, 40, 2000, 10, 20, 4000, TimeSpan.FromMinutes(10), [250, 500, 1000, 1500, 2000, 2500, 3000, 4000], [500, 1000, 1500, 2000, 2500, 3000, 4000], TimeSpan.FromMinutes(10), 5, [50, 100, 200, 400, 800, 1200, 1600, 2000, 2400, 3200, 4000]);
    }
}

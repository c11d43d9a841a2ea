using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LiveStream.Benchmarks;
using LiveStream.Benchmarks.Gaps;
using LiveStream.Benchmarks.Load;

// Usage: micro [--full] [BenchmarkDotNet args] | cpu | gaps [options, see GapOptions] | load [--full] [--out FILE] [--node-only ...]
// | loadgen [options, see LoadGenCommand] | pipe --urls URL [--forward PORT] (the direct-pipe and relay yardsticks, started by load) | sink --port PORT (the relay's second process)
if (args.Length > 0 && args[0] == "cpu")
{
    return await StreamCpuHarness.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "gaps")
{
    return await FailoverGapHarness.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] is "load" or "loadgen" or "pipe" or "sink")
{
    return args[0] switch
    {
        "load" => await LoadHarness.RunAsync(args[1..]),
        "loadgen" => await LoadGenCommand.RunAsync(args[1..]),
        "sink" => await RelaySink.RunAsync(args[1..]),
        _ => await DirectPipeServer.RunAsync(args[1..]),
    };
}

var rest = args.SkipWhile(a => a == "micro").ToArray();
var full = rest.Contains("--full");
// In-process: no generated projects to build, which matters on a 2-core machine.
var config = DefaultConfig.Instance
    // Quick: short runs with 200 ms iterations, so the whole quick bench stays within about 5 minutes.
    .AddJob((full ? Job.Default : Job.ShortRun.WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(200))).WithToolchain(InProcessEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(ContainerReaderBenchmarks).Assembly)
    .Run([.. rest.Where(a => a != "--full")], config);
return 0;

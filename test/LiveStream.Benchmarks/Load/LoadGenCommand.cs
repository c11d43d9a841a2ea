using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using LiveStream.Testing;
using LiveStream.Testing.Load;

namespace LiveStream.Benchmarks.Load;

/// <summary>
/// <c>loadgen [--gateway URL --token ADMIN] [--publishers N] [--capture NAME] [--chunk-bytes B] [--interval-ms MS]
/// [--no-loop] [--ramp-up S] [--duration S] [--drop-every S] [--duplicates K] [--raw] [--sample K] [--seed N]</c>:
/// one load run against a running gateway, or, without <c>--gateway</c>, against a silo and a gateway it starts
/// and stops. Prints the figures and the archive check of the first K streams (which get an archive output).
/// </summary>
internal static class LoadGenCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        double Number(string name, double fallback) => Value(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

        var settings = new LoadSettings
        {
            Publishers = (int)Number("--publishers", 10),
            ChunkBytes = (int)Number("--chunk-bytes", 0),
            IntervalMs = Number("--interval-ms", 500),
            Loop = !args.Contains("--no-loop"),
            RampUp = TimeSpan.FromSeconds(Number("--ramp-up", 0)),
            Duration = TimeSpan.FromSeconds(Number("--duration", 10)),
            MeasureAfter = TimeSpan.FromSeconds(Number("--ramp-up", 0)),
            DropEvery = Value("--drop-every") is { } drop ? TimeSpan.FromSeconds(double.Parse(drop, CultureInfo.InvariantCulture)) : null,
            Duplicates = (int)Number("--duplicates", 0),
            Raw = args.Contains("--raw"),
            Seed = (int)Number("--seed", 1),
        };
        var sampled = (int)Number("--sample", 0);
        var capture = MediaCapture.Load(Value("--capture") ?? "h264-opus-mkv");

        await using var own = Value("--gateway") is null ? await LoadTarget.StartClusterAsync() : null;
        using var api = own is null ? new HttpClient { BaseAddress = new Uri(Value("--gateway")!) } : null;
        if (api is not null)
        {
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Value("--token") ?? throw new ArgumentException("--gateway needs --token"));
        }

        var client = api ?? own!.Api!;

        var streams = await LoadStreams.CreateAsync(client, settings.Publishers, sampled);
        var generatorCpu = ProcessProbe.CpuSeconds(Environment.ProcessId);
        var run = LoadRun.Start(streams, capture, settings);
        await run.Completion;
        var elapsed = Stopwatch.GetElapsedTime(run.StartedAt);
        Console.WriteLine(run.Stats.Describe(elapsed));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generator CPU: {(ProcessProbe.CpuSeconds(Environment.ProcessId) - generatorCpu) / elapsed.TotalSeconds:0.00} cores"));
        var problems = await run.CheckArchivesAsync(client);
        Console.WriteLine(problems.Count == 0 ? $"archives: {sampled} checked, all equal to what was sent" : string.Join('\n', problems));
        return problems.Count == 0 && !run.Stats.Errors.Any() ? 0 : 1;
    }
}

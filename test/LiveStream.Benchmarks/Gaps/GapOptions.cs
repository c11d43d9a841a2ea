using System.Globalization;

namespace LiveStream.Benchmarks.Gaps;

/// <summary>
/// <c>gaps [--runs N] [--scenarios silo-kill,silo-term,gateway-drain,ffmpeg-kill] [--capture NAME]
/// [--fault-at-ms MS] [--membership tuned|defaults] [--out FILE] [--logs DIR]</c>
/// </summary>
internal sealed record GapOptions(
    int Runs,
    IReadOnlyList<GapScenario> Scenarios,
    string Capture,
    double FaultAtMs,
    IReadOnlyList<string> Membership,
    string? Out,
    string? Logs)
{
    public static GapOptions Parse(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

        var runs = int.Parse(Value("--runs") ?? "10", CultureInfo.InvariantCulture);
        if (runs < 1)
        {
            throw new ArgumentException("--runs must be at least 1");
        }

        var scenarios = Value("--scenarios") is { } names
            ? names.Split(',').Select(n => GapScenarios.ByName.TryGetValue(n, out var s) ? s : throw new ArgumentException($"unknown scenario {n}; known: {string.Join(", ", GapScenarios.ByName.Keys)}")).ToList()
            : [.. GapScenarios.ByName.Values];
        var membership = Value("--membership") switch
        {
            null or "tuned" => FailoverGapHarness.TunedMembership,
            "defaults" => [],
            var other => throw new ArgumentException($"--membership {other}: tuned or defaults"),
        };
        return new GapOptions(
            runs,
            scenarios,
            Value("--capture") ?? "h264-opus-mkv",
            double.Parse(Value("--fault-at-ms") ?? "6000", CultureInfo.InvariantCulture),
            membership,
            Value("--out"),
            Value("--logs"));
    }
}

namespace LiveStream.Benchmarks.Gaps;

/// <summary>The faults the gap harness injects; each run injects one.</summary>
internal enum GapScenario
{
    /// <summary>kill -9 of the silo hosting the session.</summary>
    SiloKill,

    /// <summary>SIGTERM (graceful shutdown) of the silo hosting the session.</summary>
    SiloTerm,

    /// <summary>SIGTERM of the gateway carrying the publisher's socket: it closes the socket with 1012.</summary>
    GatewayDrain,

    /// <summary>kill -9 of the session's FFmpeg: the session starts a new one.</summary>
    FfmpegKill,
}

internal static class GapScenarios
{
    /// <summary>Command-line names, in report order.</summary>
    public static readonly IReadOnlyDictionary<string, GapScenario> ByName = new Dictionary<string, GapScenario>
    {
        ["silo-kill"] = GapScenario.SiloKill,
        ["silo-term"] = GapScenario.SiloTerm,
        ["gateway-drain"] = GapScenario.GatewayDrain,
        ["ffmpeg-kill"] = GapScenario.FfmpegKill,
    };

    public static string Label(this GapScenario scenario) => scenario switch
    {
        GapScenario.SiloKill => "1. silo kill -9 (hosting the session)",
        GapScenario.SiloTerm => "2. silo SIGTERM (graceful shutdown)",
        GapScenario.GatewayDrain => "3. gateway drain (SIGTERM, 1012, reconnect)",
        _ => "4. FFmpeg kill -9 (session restarts it)",
    };
}

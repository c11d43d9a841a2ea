using CliWrap.Builders;

namespace LiveStream.Media;

/// <summary>Builds a simulcast relay's FFmpeg arguments: FLV from stdin, copied as it is to one RTMP(S) target.</summary>
public static class RelayArguments
{
    /// <summary>The progress line a relay writes to stdout once it writes to its target.</summary>
    public const string ProgressPrefix = "progress=";

    public static void Build(ArgumentsBuilder args, RelaySpec spec)
    {
        args.Add("-hide_banner").Add("-nostdin").Add("-nostats")
            .Add("-loglevel").Add("warning")
            // Progress goes to stdout once the output is open, i.e. once the target has accepted the connection. Only
            // that first report matters, and FFmpeg writes it at once whatever the period: the later ones are rare.
            .Add("-progress").Add("pipe:1").Add("-stats_period").Add(30)
            .Add("-f").Add("flv").Add("-i").Add("pipe:0")
            .Add("-map").Add("0").Add("-c").Add("copy")
            .Add("-f").Add("flv").Add(spec.Url);
    }
}

using System.Globalization;
using CliWrap;
using CliWrap.Buffered;

namespace LiveStream.Grains.Tests;

/// <summary>What ffprobe and ffmpeg say of a media file or playlist.</summary>
public static class MediaProbe
{
    /// <summary>Presentation times (s) of the decoded frames of the first stream of <paramref name="kind"/> ("v" or "a").</summary>
    public static async Task<IReadOnlyList<double>> FrameTimesAsync(string input, string kind)
    {
        var output = await RunAsync("ffprobe", ["-v", "error", "-select_streams", kind + ":0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", input]);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.Length > 0 && l != "N/A")
            .Select(l => double.Parse(l.TrimEnd(','), CultureInfo.InvariantCulture))];
    }

    /// <summary>The H.264 level_idc (e.g. "32" for 3.2) of the first video stream, as ffprobe reads it.</summary>
    public static async Task<string> VideoLevelAsync(string input) =>
        (await RunAsync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=level", "-of", "csv=p=0", input]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];

    /// <summary>The MD5 of every decoded video frame, in order.</summary>
    public static async Task<IReadOnlyList<string>> VideoFrameHashesAsync(string input)
    {
        var output = await RunAsync("ffmpeg", ["-v", "error", "-i", input, "-map", "0:v:0", "-f", "framemd5", "-"]);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith('#'))
            .Select(l => l.Split(',')[^1].Trim())];
    }

    /// <summary>
    /// What the decoders print at level error during a full decode of <paramref name="input"/> (empty when it decodes
    /// cleanly). The null muxer's complaints about timestamps restarting after an HLS discontinuity are not decoder
    /// errors and are left out.
    /// </summary>
    public static async Task<string> DecodeErrorsAsync(string input)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var result = await Cli.Wrap("ffmpeg")
            .WithArguments(["-v", "error", "-i", input, "-f", "null", "-"])
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(timeout.Token);
        return string.Join('\n', result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("[null @", StringComparison.Ordinal) && !l.Contains("Last message repeated", StringComparison.Ordinal)));
    }

    private static async Task<string> RunAsync(string program, string[] args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var result = await Cli.Wrap(program)
            .WithArguments(args)
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(timeout.Token);
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', args)}: {result.StandardError}");
        return result.StandardOutput;
    }
}

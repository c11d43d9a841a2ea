using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;

namespace LiveStream.EndToEnd.Tests;

/// <summary>What ffprobe says of a media URL or file.</summary>
public sealed record ProbeResult(IReadOnlyList<string> VideoCodecs, IReadOnlyList<string> AudioCodecs, double DurationSeconds)
{
    public static async Task<ProbeResult> RunAsync(string input)
    {
        using var json = JsonDocument.Parse(await RunAsync(input, "format=duration:stream=codec_type,codec_name", "json"));
        var streams = json.RootElement.GetProperty("streams").EnumerateArray().ToList();
        string[] Codecs(string type) => [.. streams.Where(s => s.GetProperty("codec_type").GetString() == type).Select(s => s.GetProperty("codec_name").GetString()!)];
        var duration = double.Parse(json.RootElement.GetProperty("format").GetProperty("duration").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        return new ProbeResult(Codecs("video"), Codecs("audio"), duration);
    }

    /// <summary>
    /// The media duration of a file from its packets (last packet end minus first start): a live recording
    /// (Matroska with unknown sizes) has no duration in its header.
    /// </summary>
    public static async Task<double> PacketDurationAsync(string input)
    {
        var packets = await RunAsync(input, "packet=pts_time,duration_time", "csv=p=0");
        double first = double.MaxValue, last = 0;
        foreach (var line in packets.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(',');
            if (!double.TryParse(parts[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var pts))
            {
                continue;
            }

            var duration = parts.Length > 1 && double.TryParse(parts[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : 0;
            first = Math.Min(first, pts);
            last = Math.Max(last, pts + duration);
        }

        Assert.True(first < double.MaxValue, $"ffprobe found no packets in {input}");
        return last - first;
    }

    /// <summary>Presentation times (s) of the first video stream's packets, in stream order.</summary>
    public static async Task<IReadOnlyList<double>> VideoPacketTimesAsync(string input)
    {
        var packets = await RunAsync(input, "packet=pts_time", "csv=p=0", "v:0");
        return [.. packets.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.TrimEnd(','))
            .Where(l => l.Length > 0 && l != "N/A")
            .Select(l => double.Parse(l, System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>ffprobe's standard output for the given entries and output format; a failure fails the test.</summary>
    private static async Task<string> RunAsync(string input, string entries, string format, string? streams = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string[] select = streams is null ? [] : ["-select_streams", streams];
        var result = await Cli.Wrap("ffprobe")
            .WithArguments(["-v", "error", .. select, "-show_entries", entries, "-of", format, input])
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(timeout.Token);
        Assert.True(result.ExitCode == 0, $"ffprobe {input} failed: {result.StandardError}");
        return result.StandardOutput;
    }
}

using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;

namespace LiveStream.EndToEnd.Tests;

/// <summary>What ffprobe says of a media URL or file.</summary>
public sealed record ProbeResult(IReadOnlyList<string> VideoCodecs, IReadOnlyList<string> AudioCodecs, double DurationSeconds)
{
    public static async Task<ProbeResult> RunAsync(string input)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var result = await Cli.Wrap("ffprobe")
            .WithArguments(["-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name", "-of", "json", input])
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(timeout.Token);
        Assert.True(result.ExitCode == 0, $"ffprobe {input} failed: {result.StandardError}");
        using var json = JsonDocument.Parse(result.StandardOutput);
        var streams = json.RootElement.GetProperty("streams").EnumerateArray().ToList();
        string[] Codecs(string type) => [.. streams.Where(s => s.GetProperty("codec_type").GetString() == type).Select(s => s.GetProperty("codec_name").GetString()!)];
        var duration = double.Parse(json.RootElement.GetProperty("format").GetProperty("duration").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        return new ProbeResult(Codecs("video"), Codecs("audio"), duration);
    }
}

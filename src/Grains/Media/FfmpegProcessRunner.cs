using CliWrap;
using LiveStream.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveStream.Media;

/// <summary>Starts real FFmpeg processes.</summary>
internal sealed class FfmpegProcessRunner(
    IOptions<FfmpegOptions> options,
    MediaProcessSupervisor supervisor,
    Telemetry.LiveStreamInstruments instruments,
    TimeProvider time,
    ILogger<FfmpegProcessRunner> logger) : IMediaProcessRunner
{
    public async Task<IMediaProcess> StartAsync(MediaProcessSpec spec, SessionBuffer input)
    {
        Directory.CreateDirectory(spec.HlsDirectory);
        return await LaunchAsync(() => new FfmpegProcess(spec, input, options.Value, supervisor, time, logger), "encoder");
    }

    public Task<IMediaProcess> StartRelayAsync(RelaySpec spec, SessionBuffer input)
    {
        var stdout = PipeTarget.ToDelegate(line =>
        {
            if (line.StartsWith(RelayArguments.ProgressPrefix, StringComparison.Ordinal))
            {
                spec.OnLive();
            }
        });
        return LaunchAsync(() => new FfmpegProcess($"{spec.SessionId} relay {spec.Index}", args => RelayArguments.Build(args, spec), input, stdout, options.Value, supervisor, time, logger), "relay");
    }

    private async Task<IMediaProcess> LaunchAsync(Func<FfmpegProcess> start, string role)
    {
        var label = new KeyValuePair<string, object?>("role", role);
        // Forked from the supervisor's launcher thread, which lives as long as the silo: FFmpeg's parent-death
        // signal fires when the thread that forked it ends, so it must never be a pool thread.
        var process = await supervisor.LaunchAsync(start);
        instruments.FfmpegProcesses.Add(1, label);
        _ = process.Exited.ContinueWith(_ => instruments.FfmpegProcesses.Add(-1, label), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return process;
    }
}

using LiveStream.Options;
using LiveStream.Sessions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveStream.Media;

/// <summary>Starts real FFmpeg processes.</summary>
internal sealed class FfmpegProcessRunner(
    IOptions<FfmpegOptions> options,
    MediaProcessSupervisor supervisor,
    Telemetry.LiveStreamInstruments instruments,
    ILogger<FfmpegProcessRunner> logger) : IMediaProcessRunner
{
    public IMediaProcess Start(MediaProcessSpec spec, SessionBuffer input)
    {
        Directory.CreateDirectory(spec.HlsDirectory);
        var process = new FfmpegProcess(spec, input, options.Value, supervisor, logger);
        instruments.FfmpegProcesses.Add(1);
        _ = process.Exited.ContinueWith(_ => instruments.FfmpegProcesses.Add(-1), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return process;
    }
}

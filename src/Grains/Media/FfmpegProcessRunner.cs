using LiveStream.Options;
using LiveStream.Sessions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveStream.Media;

/// <summary>Starts real FFmpeg processes.</summary>
internal sealed class FfmpegProcessRunner(
    IOptions<FfmpegOptions> options,
    MediaProcessSupervisor supervisor,
    ILogger<FfmpegProcessRunner> logger) : IMediaProcessRunner
{
    public IMediaProcess Start(MediaProcessSpec spec, SessionBuffer input)
    {
        Directory.CreateDirectory(spec.HlsDirectory);
        return new FfmpegProcess(spec, input, options.Value, supervisor, logger);
    }
}

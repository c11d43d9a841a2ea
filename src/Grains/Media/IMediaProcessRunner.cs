
namespace LiveStream.Media;

/// <summary>The seam between a session and FFmpeg: unit tests use a stand-in, the rest use the real binary.</summary>
public interface IMediaProcessRunner
{
    /// <summary>Starts a process that reads <paramref name="input"/> until it completes.</summary>
    Task<IMediaProcess> StartAsync(MediaProcessSpec spec, SessionBuffer input);

    /// <summary>Starts a relay that reads an FLV stream from <paramref name="input"/> and pushes it to one RTMP target.</summary>
    Task<IMediaProcess> StartRelayAsync(RelaySpec spec, SessionBuffer input);
}

using LiveStream.Media;
using LiveStream.Media.Containers;
using LiveStream.Streams;

namespace LiveStream.Capacity;

/// <summary>
/// What a session costs in admission units, calibrated by <c>./bench.sh</c> ("Whole-system CPU per live stream"):
/// a passed-through H.264 720p stream took 0.044 cores above idle, a VP8 720p re-encode (libx264 veryfast) 0.145,
/// about 3.3 times as much. One unit is therefore about 0.04 cores:
/// <list type="bullet">
/// <item>no FFmpeg (archive and null outputs only): 0;</item>
/// <item>FFmpeg copying the video (H.264 passthrough) or audio only: 1;</item>
/// <item>a video re-encode: 4 units per 1280x720 worth of pixels, at least 2, for each encode (HLS and RTMP each
/// encode once today);</item>
/// <item>each RTMP target adds 1 for its relay process.</item>
/// </list>
/// Before the recording's header arrives the codec is unknown: a new session is admitted on the cost of a
/// passthrough (our browser client prefers H.264), and its cost is corrected once the tracks are known, even above
/// the silo's capacity (a session already live is never cut for it). Over-admission is bounded by the sessions
/// that start together with a costlier codec; reserving a re-encode instead refused bursts of cheap sessions.
/// </summary>
public static class SessionCost
{
    private const double PixelsOf720p = 1280 * 720;

    /// <summary>Units of a 720p re-encode, and of a re-encode whose size the container does not state.</summary>
    public const int ReencodeOf720p = 4;

    /// <summary>The cost a session is admitted on, before its media is known: that of a passthrough.</summary>
    public static int Reserve(IReadOnlyList<OutputSpec> outputs) => Of(outputs, tracks: []);

    /// <summary>The cost of a session with <paramref name="outputs"/> carrying <paramref name="tracks"/> (null: not known yet).</summary>
    public static int Of(IReadOnlyList<OutputSpec> outputs, IReadOnlyList<TrackInfo>? tracks)
    {
        if (!FfmpegArguments.NeedsProcess(outputs))
        {
            return 0;
        }

        var relays = outputs.Count(o => o.Type == OutputType.Rtmp);
        var encodes = (outputs.Any(o => o.Type == OutputType.Hls) ? 1 : 0) + (relays > 0 ? 1 : 0);
        var video = tracks?.FirstOrDefault(t => t.Kind == TrackKind.Video);
        int perEncode;
        if (tracks is not null && (video is null || FfmpegArguments.IsPassthrough(tracks)))
        {
            perEncode = 1;
        }
        else if (video is { Width: > 0, Height: > 0 })
        {
            perEncode = Math.Max(2, (int)Math.Ceiling(ReencodeOf720p * (video.Width * (double)video.Height) / PixelsOf720p));
        }
        else
        {
            perEncode = ReencodeOf720p;
        }

        return (perEncode * encodes) + relays;
    }
}

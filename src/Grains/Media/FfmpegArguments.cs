using CliWrap.Builders;
using LiveStream.Media.Containers;
using LiveStream.Options;
using LiveStream.Streams;

namespace LiveStream.Media;

/// <summary>Builds FFmpeg's argument list for a session. Every value is a separate argument: no shell, no quoting.</summary>
public static class FfmpegArguments
{
    /// <summary>Adds the arguments that read stdin and write every output of <paramref name="spec"/>.</summary>
    public static void Build(ArgumentsBuilder args, MediaProcessSpec spec, FfmpegOptions options)
    {
        args.Add("-hide_banner").Add("-nostdin").Add("-nostats")
            .Add("-loglevel").Add("warning")
            // Progress reports (frame rate, speed, dropped frames) every FfmpegProgress.ReportPeriod, on stderr beside
            // the log lines: stdout may carry the RTMP targets' stream, and CliWrap reads no other descriptor.
            .Add("-progress").Add("pipe:2").Add("-stats_period").Add((int)FfmpegProgress.ReportPeriod.TotalSeconds)
            .Add("-i").Add("pipe:0");

        var relayStreamAdded = false;
        foreach (var output in spec.Outputs)
        {
            switch (output.Type)
            {
                case OutputType.Hls:
                    AddEncode(args, spec.Tracks, options);
                    args.Add("-f").Add("hls").Add("-hls_time").Add(options.HlsSegmentSeconds);
                    if (output.Record)
                    {
                        // A recording: an event playlist that lists every segment and keeps them all.
                        args.Add("-hls_list_size").Add(0).Add("-hls_playlist_type").Add("event");
                    }
                    else
                    {
                        // Live: a sliding window; segments that leave it are deleted, so disk use stays bounded.
                        args.Add("-hls_list_size").Add(options.HlsWindowSegments);
                    }

                    // append_list: a restarted FFmpeg (crash, new recording, failover) goes on with the same
                    // playlist, after a discontinuity, instead of starting it again. Only then: FFmpeg 5.1 puts a
                    // discontinuity before the first segment of a new playlist written with append_list.
                    var flags = spec.Continuation ? "independent_segments+temp_file+append_list+discont_start" : "independent_segments+temp_file";
                    args.Add("-hls_flags").Add(output.Record ? flags : flags + "+delete_segments")
                        .Add("-hls_segment_filename").Add(Path.Combine(spec.HlsDirectory, "seg_%05d.ts"))
                        .Add(Path.Combine(spec.HlsDirectory, "index.m3u8"));
                    break;
                case OutputType.Rtmp when !relayStreamAdded:
                    // Every RTMP target shares one encode: one FLV stream on stdout, fanned out by the silo to one
                    // relay process per target (see SimulcastFanOut).
                    relayStreamAdded = true;
                    AddEncode(args, spec.Tracks, options);
                    args.Add("-f").Add("flv").Add("-flvflags").Add("no_duration_filesize").Add("pipe:1");
                    break;
                default:
                    // Archive and null outputs need no process.
                    break;
            }
        }
    }

    /// <summary>True when any output of <paramref name="outputs"/> needs FFmpeg.</summary>
    public static bool NeedsProcess(IEnumerable<OutputSpec> outputs) =>
        outputs.Any(o => o.Type is OutputType.Hls or OutputType.Rtmp);

    /// <summary>True when the video of <paramref name="tracks"/> is H.264, which every output takes as it is.</summary>
    public static bool IsPassthrough(IReadOnlyList<TrackInfo> tracks) =>
        tracks.FirstOrDefault(t => t.Kind == TrackKind.Video) is { Codec: "h264" };

    private static void AddEncode(ArgumentsBuilder args, IReadOnlyList<TrackInfo> tracks, FfmpegOptions options)
    {
        args.Add("-map").Add("0:v:0?").Add("-map").Add("0:a:0?");
        if (IsPassthrough(tracks))
        {
            // H.264 from the browser goes out as it came: no decode, no encode (the whole cost of a stream).
            args.Add("-c:v").Add("copy");
        }
        else
        {
            args.Add("-c:v").Add("libx264").Add("-preset").Add(options.Preset).Add("-tune").Add("zerolatency")
                .Add("-pix_fmt").Add("yuv420p")
                // A keyframe at least every 2 s: HLS segments and RTMP platforms both need it.
                .Add("-force_key_frames").Add("expr:gte(t,n_forced*2)");
        }

        // MediaRecorder timestamps are variable-rate; keep them, never duplicate frames over gaps.
        args.Add("-fps_mode").Add("passthrough")
            .Add("-c:a").Add("aac").Add("-b:a").Add("128k").Add("-ar").Add(48000);
    }
}

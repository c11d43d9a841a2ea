using LiveStream.Media;
using LiveStream.Media.Containers;
using LiveStream.Streams;

namespace LiveStream.Sessions;

/// <summary>A session as the API shows it: its stored record, and the live figures while it runs on this silo.</summary>
internal static class SessionStatusProjection
{
    // FFmpeg's last lines in the session's health (the silo keeps Ffmpeg:StderrTailLines of them).
    private const int HealthTailLines = 20;

    public static SessionStatus Of(string streamId, SessionRecord record, LiveSession? live, SiloAddress silo)
    {
        // Only while the record says live: a session that is closing shows ended (status reads interleave with the
        // close, which stores the end) before the grain lets it go, and an ended session has no live figures.
        live = live?.Record == record && record.IsLive ? live : null;
        var pipeline = live?.Pipeline;
        return new SessionStatus(
            record.Id,
            streamId,
            record.State,
            record.StartedAt,
            record.EndedAt,
            record.ConnectionEpoch,
            record.Reconnects,
            live?.Committed ?? record.BytesIngested,
            new FfmpegStatus(pipeline?.Process?.Id, pipeline?.Restarts ?? record.FfmpegRestarts, record.FfmpegLastError),
            record.SupersededPublishers,
            record.DisconnectedAt,
            pipeline?.BufferedBytes ?? 0,
            record.EndReason,
            record.HlsUrl,
            record.HasArchive,
            pipeline is null ? null : VideoOf(pipeline),
            pipeline?.Tracks.FirstOrDefault(t => t.Kind == TrackKind.Audio) is { } audio ? new AudioStatus(audio.Codec) : null,
            pipeline is null ? null : WarningsOf(pipeline),
            live is null ? null : silo.ToParsableString(),
            pipeline?.OutputStatuses(record.FfmpegLastError),
            live is null ? null : HealthOf(live));
    }

    /// <summary>The live session's health: FFmpeg's progress (when it reports any), the ingest bitrate, FFmpeg's last lines.</summary>
    private static SessionHealth HealthOf(LiveSession live)
    {
        var progress = live.Pipeline.Process?.Progress;
        var tail = live.Pipeline.Process?.StderrTail;
        return new SessionHealth(
            progress?.Fps,
            progress?.Speed,
            progress?.DroppedFrames,
            progress?.DuplicatedFrames,
            progress?.OutputSeconds,
            live.Rate.BitsPerSecond,
            tail is null ? null : [.. tail.TakeLast(HealthTailLines).Select(SecretRedactor.Redact)]);
    }

    private static VideoStatus? VideoOf(SessionPipeline pipeline) =>
        pipeline.Tracks.FirstOrDefault(t => t.Kind == TrackKind.Video) is { } video
            ? new VideoStatus(video.Codec, FfmpegArguments.IsPassthrough(pipeline.Tracks), pipeline.KeyframeIntervalMs)
            : null;

    private static IReadOnlyList<string> WarningsOf(SessionPipeline pipeline) =>
        FfmpegArguments.IsPassthrough(pipeline.Tracks) && pipeline.KeyframeIntervalMs > 2000
            ? [$"keyframe interval {pipeline.KeyframeIntervalMs} ms is over 2 s; platforms reject that for passed-through video (ask the recorder for videoKeyFrameIntervalDuration: 1000)"]
            : [];
}

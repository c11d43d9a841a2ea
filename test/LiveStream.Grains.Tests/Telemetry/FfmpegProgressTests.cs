using LiveStream.Media;
using Microsoft.Extensions.Time.Testing;

namespace LiveStream.Grains.Tests.Telemetry;

public sealed class FfmpegProgressTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Progress_reports_are_read_from_stderr_and_log_lines_are_left_alone()
    {
        var progress = new FfmpegProgress(_time);

        Assert.False(progress.TryRead("[hls @ 0x55d0] Opening 'seg_00001.ts' for writing"));
        Assert.False(progress.TryRead("Past duration 0.999992 too large"));
        Assert.False(progress.TryRead("frame=   12 fps=0.0 q=-1.0 size=N/A time=00:00:00.56 bitrate=N/A speed=1.1x"));
        Assert.Null(progress.Current);
        Assert.True(progress.TryRead("frame=40"));
        Assert.True(progress.TryRead("stream_0_0_q=-1.0"));
        Assert.True(progress.TryRead("speed=   1x"));
        Assert.Null(progress.Current);

        Block(progress, frame: 40, outTimeUs: 2_000_000, fps: "19.83", dropped: 3, duplicated: 1);

        var current = progress.Current!;
        Assert.Equal(19.83, current.Fps);
        Assert.Equal(2.0, current.OutputSeconds);
        Assert.Equal(3, current.DroppedFrames);
        Assert.Equal(1, current.DuplicatedFrames);
    }

    [Fact]
    public void Frame_rate_and_speed_are_measured_over_the_last_reports_not_since_ffmpeg_started()
    {
        var progress = new FfmpegProgress(_time);

        // 30 fps for 10 s, then 10 fps: FFmpeg's own fps (an average since its start) lags behind.
        long frame = 0, outUs = 0;
        for (var second = 0; second < 10; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Block(progress, frame += 30, outUs += 1_000_000, fps: "30.00");
        }

        Assert.Equal(30.0, progress.Current!.Fps);
        Assert.Equal(1.0, progress.Current!.Speed);

        for (var second = 0; second < 6; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Block(progress, frame += 10, outUs += 500_000, fps: "22.50");
        }

        Assert.Equal(10.0, progress.Current!.Fps);
        Assert.Equal(0.5, progress.Current!.Speed);
    }

    [Fact]
    public void No_report_for_a_whole_window_means_nothing_is_written()
    {
        var progress = new FfmpegProgress(_time);
        Block(progress, 20, 1_000_000, "20.00");
        _time.Advance(TimeSpan.FromSeconds(1));
        Block(progress, 40, 2_000_000, "20.00");

        _time.Advance(FfmpegProgress.Window + TimeSpan.FromSeconds(1));

        Assert.Equal(0.0, progress.Current!.Fps);
        Assert.Equal(0.0, progress.Current!.Speed);
        Assert.Equal(2.0, progress.Current!.OutputSeconds);
    }

    private static void Block(FfmpegProgress progress, long frame, long outTimeUs, string fps, long dropped = 0, long duplicated = 0)
    {
        string[] lines =
        [
            $"frame={frame}", $"fps={fps}", "stream_0_0_q=-1.0", "bitrate=N/A", "total_size=N/A",
            $"out_time_us={outTimeUs}", $"out_time_ms={outTimeUs}", "out_time=00:00:01.000000",
            $"dup_frames={duplicated}", $"drop_frames={dropped}", "speed=0.998x", "progress=continue",
        ];
        foreach (var line in lines)
        {
            Assert.True(progress.TryRead(line), line);
        }
    }
}

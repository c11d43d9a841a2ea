using System.Diagnostics;
using LiveStream.Ingest;
using LiveStream.Sessions;
using LiveStream.Streams;
using LiveStream.Testing;
using Orleans.TestingHost;

namespace LiveStream.Grains.Tests;

/// <summary>The media pipeline with the real ffmpeg: passthrough, recorder-restart splicing, restart after a crash.</summary>
public sealed class MediaPipelineTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dataPath = TestClusters.NewDataPath();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        // These tests assert one FFmpeg across a splice. With the default lease (3 s), a test process stalled for
        // 1.5 s between renewals (a 2-core machine running the whole suite) is fenced off by design: its FFmpeg is
        // killed and the session picked up again with a new one, which is a move (LeaseTests, LeaseLapseTests), not
        // what is tested here. A lease no stall outlasts keeps these tests about splicing.
        _cluster = TestClusters.Build(_dataPath, runner: null, bufferBytes: 8 * 1024 * 1024, settings: new Dictionary<string, string>
        {
            ["LiveStream:Lease:Ttl"] = "00:10:00",
        });
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Theory(Timeout = 180_000)]
    [InlineData("h264-opus-mkv")]
    [InlineData("fmp4-avc1-opus")]
    public async Task H264_video_is_passed_through_untouched(string name)
    {
        var capture = MediaCapture.Load(name);
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);

        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, capture.Chunks());
        var live = (await grain.GetSessionAsync(session.SessionId!))!;
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        await FinalisedAsync(session.SessionId!);

        Assert.Equal(new VideoStatus("h264", true, live.Video?.KeyframeIntervalMs), live.Video);
        Assert.InRange(live.Video!.KeyframeIntervalMs ?? 0, 900, 1100);
        Assert.Empty(live.Warnings ?? []);
        var input = Path.Combine(RepoPaths.Media, name, Path.GetFileName(Directory.GetFiles(Path.Combine(RepoPaths.Media, name), "stream.*").Single()));
        var expected = await MediaProbe.VideoFrameHashesAsync(input);
        var actual = await MediaProbe.VideoFrameHashesAsync(Playlist(session.SessionId!));
        Assert.True(expected.Count >= 399, $"reference has {expected.Count} frames");
        Assert.Equal(expected, actual);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_source_with_keyframes_5_s_apart_is_passed_through_with_a_warning()
    {
        var capture = MediaCapture.Load("h264-opus-mkv-slice1000-kfdefault");
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);

        await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, capture.Chunks());
        var live = (await grain.GetSessionAsync(session.SessionId!))!;
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);

        Assert.True(live.Video!.Passthrough);
        Assert.InRange(live.Video.KeyframeIntervalMs ?? 0, 4500, 5500);
        Assert.Contains(live.Warnings!, w => w.Contains("keyframe interval", StringComparison.Ordinal));
    }

    [Theory(Timeout = 180_000)]
    [InlineData("vp8-opus-restart")]
    [InlineData("h264-opus-restart")]
    [InlineData("fmp4-avc1-opus-restart")]
    public async Task A_recorder_restart_is_spliced_into_the_same_ffmpeg_with_increasing_timestamps(string name)
    {
        var a = MediaCapture.Load(name + "/a");
        var b = MediaCapture.Load(name + "/b");
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true)]);
        var first = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, first.Epoch, 0, a.Chunks());
        var pid = (await grain.GetSessionAsync(first.SessionId!))!.Ffmpeg.Pid;
        var lastOfA = Stopwatch.GetTimestamp();
        await grain.DisconnectAsync(first.Epoch, DisconnectKind.Dropped, 1006);

        // The page reloads: a new recorder, a new connection, the same session.
        await Task.Delay(TimeSpan.FromMilliseconds(600));
        var second = await StreamFactory.ConnectAsync(grain, hash);
        var wallGap = Stopwatch.GetElapsedTime(lastOfA).TotalSeconds;
        await StreamFactory.WriteAllAsync(grain, second.Epoch, second.ResumeFrom, b.Chunks());
        var live = (await grain.GetSessionAsync(first.SessionId!))!;
        await grain.DisconnectAsync(second.Epoch, DisconnectKind.End, CloseCodes.Normal);
        await FinalisedAsync(first.SessionId!);

        Assert.Equal(first.SessionId, second.SessionId);
        Assert.Equal(a.Bytes.Length, second.ResumeFrom);
        Assert.Equal(pid, live.Ffmpeg.Pid);
        Assert.Equal(0, live.Ffmpeg.Restarts);
        var playlist = await File.ReadAllTextAsync(Playlist(first.SessionId!));
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", playlist, StringComparison.Ordinal);
        var video = await MediaProbe.FrameTimesAsync(Playlist(first.SessionId!), "v");
        var audio = await MediaProbe.FrameTimesAsync(Playlist(first.SessionId!), "a");
        var recorded = Media.CaptureFacts.Of(name + "/a").VideoFrames + Media.CaptureFacts.Of(name + "/b").VideoFrames;
        Assert.True(video.Count >= recorded - 2, $"{video.Count} of {recorded} video frames");
        for (var i = 1; i < video.Count; i++)
        {
            Assert.True(video[i] > video[i - 1], $"video time went from {video[i - 1]} to {video[i]} at frame {i}");
        }

        var largestGap = video.Zip(video.Skip(1), (x, y) => y - x).Max();
        Assert.True(largestGap <= wallGap, $"largest gap {largestGap:0.000} s is over the wall-clock gap {wallGap:0.000} s");
        // Ends, not starts: the last video frame lasts one frame interval, the last AAC frame 1024 samples at 48 kHz.
        var videoEnd = video[^1] + (video[^1] - video[^2]);
        var audioEnd = audio[^1] + (1024.0 / 48000);
        Assert.True(Math.Abs(videoEnd - audioEnd) <= 0.040, $"video ends at {videoEnd:0.000} s, audio at {audioEnd:0.000} s");
    }

    [Theory(Timeout = 180_000)]
    [InlineData("vp8-opus-restart")]
    [InlineData("h264-opus-restart")]
    public async Task A_recording_cut_mid_element_like_a_closed_tab_is_dropped_at_its_last_whole_element_and_the_next_is_spliced(string name)
    {
        var a = MediaCapture.Load(name + "/a");
        var b = MediaCapture.Load(name + "/b");

        // The tab dies 3,000 bytes before the end of its recording: inside a block, not between two elements.
        var cut = a.Bytes.Length - 3000;
        var whole = Media.WholeElements.Of(a.Bytes[..cut]);
        Assert.True(whole.Length < cut, "the cut must fall inside an element");
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true)]);
        var first = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, first.Epoch, 0, Cut([.. a.Chunks()], cut));
        var pid = (await grain.GetSessionAsync(first.SessionId!))!.Ffmpeg.Pid;
        await grain.DisconnectAsync(first.Epoch, DisconnectKind.Dropped, 1006);

        // A new tab, a new recorder, the same key: the same session goes on where the acknowledged bytes end.
        var second = await StreamFactory.ConnectAsync(grain, hash);
        Assert.Equal(cut, second.ResumeFrom);
        await StreamFactory.WriteAllAsync(grain, second.Epoch, second.ResumeFrom, b.Chunks());
        var live = (await grain.GetSessionAsync(first.SessionId!))!;
        await grain.DisconnectAsync(second.Epoch, DisconnectKind.End, CloseCodes.Normal);
        await FinalisedAsync(first.SessionId!);

        Assert.Equal((first.SessionId, pid, 0), (second.SessionId, live.Ffmpeg.Pid, live.Ffmpeg.Restarts));
        var playlist = await File.ReadAllTextAsync(Playlist(first.SessionId!));
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", playlist, StringComparison.Ordinal);
        var video = await MediaProbe.FrameTimesAsync(Playlist(first.SessionId!), "v");
        var audio = await MediaProbe.FrameTimesAsync(Playlist(first.SessionId!), "a");
        Assert.True(video.Count >= 200 + 200 - 10, $"{video.Count} video frames");
        for (var i = 1; i < video.Count; i++)
        {
            Assert.True(video[i] > video[i - 1], $"video time went from {video[i - 1]} to {video[i]} at frame {i}");
        }

        // Audio and video stay together across the splice: both end within 40 ms of each other.
        var videoEnd = video[^1] + (video[^1] - video[^2]);
        var audioEnd = audio[^1] + (1024.0 / 48000);
        Assert.True(Math.Abs(videoEnd - audioEnd) <= 0.040, $"video ends at {videoEnd:0.000} s, audio at {audioEnd:0.000} s");
    }

    [Fact(Timeout = 180_000)]
    public async Task A_webm_h264_restart_whose_parameter_sets_differ_continues_in_the_same_ffmpeg_and_its_sps_reaches_hls()
    {
        // Chrome writes H.264 in Matroska as Annex B with SPS and PPS before every keyframe and no CodecPrivate, so a
        // new recording's parameter sets travel with its frames. B here has another level_idc in every SPS.
        var a = MediaCapture.Load("h264-opus-restart/a");
        var b = MediaCapture.Load("h264-opus-restart/b");
        var changed = b.Bytes.ToArray();
        ReadOnlySpan<byte> sps = [0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0xC0, 0x20];
        var patched = 0;
        for (var at = changed.AsSpan().IndexOf(sps); at >= 0; at = NextIndex(changed, sps, at + 1))
        {
            changed[at + 7] = 0x1F;
            patched++;
        }

        Assert.Equal(10, patched);
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var offset = await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, a.Chunks());
        var pid = (await grain.GetSessionAsync(session.SessionId!))!.Ffmpeg.Pid;
        await Task.Delay(TimeSpan.FromMilliseconds(600));
        await StreamFactory.WriteAllAsync(grain, session.Epoch, offset, Chunks(changed, b.ChunkSizes));
        var live = (await grain.GetSessionAsync(session.SessionId!))!;
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        await FinalisedAsync(session.SessionId!);

        Assert.Equal((pid, 0), (live.Ffmpeg.Pid, live.Ffmpeg.Restarts));
        var playlist = Playlist(session.SessionId!);
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", await File.ReadAllTextAsync(playlist), StringComparison.Ordinal);
        Assert.Equal("", await MediaProbe.DecodeErrorsAsync(playlist));
        Assert.Equal(400, (await MediaProbe.FrameTimesAsync(playlist, "v")).Count);
        var segments = Directory.GetFiles(Path.GetDirectoryName(playlist)!, "*.ts").Order(StringComparer.Ordinal).ToList();
        Assert.Equal("32", await MediaProbe.VideoLevelAsync(segments[0]));
        Assert.Equal("31", await MediaProbe.VideoLevelAsync(segments[^1]));
    }

    private static int NextIndex(byte[] bytes, ReadOnlySpan<byte> value, int from)
    {
        var next = bytes.AsSpan(from).IndexOf(value);
        return next < 0 ? -1 : from + next;
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] bytes, IReadOnlyList<int> sizes)
    {
        var offset = 0;
        foreach (var size in sizes)
        {
            yield return bytes.AsMemory(offset, size);
            offset += size;
        }
    }

    [Theory(Timeout = 180_000)]
    [InlineData("h264-opus-cut")]
    [InlineData("vp8-opus-cut")]
    public async Task A_real_recording_left_by_a_closed_tab_is_spliced_with_the_next_tabs_recording(string name)
    {
        // Recorder A's chunks as Chromium flushed them until the tab "closed" (no clean stop()), then recorder B.
        var a = MediaCapture.Load(name + "/a");
        var b = MediaCapture.Load(name + "/b");
        Assert.True(Media.WholeElements.Of(a.Bytes).Length < a.Bytes.Length, "the recording must end inside an element");
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true)]);
        var first = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, first.Epoch, 0, a.Chunks());
        var pid = (await grain.GetSessionAsync(first.SessionId!))!.Ffmpeg.Pid;
        await grain.DisconnectAsync(first.Epoch, DisconnectKind.Dropped, 1006);

        var second = await StreamFactory.ConnectAsync(grain, hash);
        await StreamFactory.WriteAllAsync(grain, second.Epoch, second.ResumeFrom, b.Chunks());
        var live = (await grain.GetSessionAsync(first.SessionId!))!;
        await grain.DisconnectAsync(second.Epoch, DisconnectKind.End, CloseCodes.Normal);
        await FinalisedAsync(first.SessionId!);

        Assert.Equal((first.SessionId, pid, 0, 1), (second.SessionId, live.Ffmpeg.Pid, live.Ffmpeg.Restarts, live.Reconnects));
        var playlist = await File.ReadAllTextAsync(Playlist(first.SessionId!));
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", playlist, StringComparison.Ordinal);
        var video = await MediaProbe.FrameTimesAsync(Playlist(first.SessionId!), "v");
        var recorded = Media.CaptureFacts.Of(name + "/a").VideoFrames + Media.CaptureFacts.Of(name + "/b").VideoFrames;
        Assert.True(video.Count >= recorded * 0.97, $"{video.Count} of {recorded} video frames");
        for (var i = 1; i < video.Count; i++)
        {
            Assert.True(video[i] > video[i - 1], $"video time went from {video[i - 1]} to {video[i]} at frame {i}");
        }
    }

    /// <summary>The chunks of a recording up to byte <paramref name="cut"/>, the last one cut short.</summary>
    private static IEnumerable<ReadOnlyMemory<byte>> Cut(IReadOnlyList<ReadOnlyMemory<byte>> chunks, int cut)
    {
        var offset = 0;
        foreach (var chunk in chunks)
        {
            if (offset >= cut)
            {
                yield break;
            }

            yield return chunk[..Math.Min(chunk.Length, cut - offset)];
            offset += chunk.Length;
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task A_recorder_restart_with_another_codec_starts_a_new_ffmpeg_in_the_same_session_and_hls_goes_on()
    {
        var a = MediaCapture.Load("vp8-opus-restart/a");
        var b = MediaCapture.Load("h264-opus-restart/b");
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var offset = await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, a.Chunks());
        var first = (await grain.GetSessionAsync(session.SessionId!))!;

        await StreamFactory.WriteAllAsync(grain, session.Epoch, offset, b.Chunks());
        var second = (await grain.GetSessionAsync(session.SessionId!))!;
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        await FinalisedAsync(session.SessionId!);

        // The ended session gives its stream's lease up once its FFmpeg is gone, so the stream's next publisher is
        // taken at once. It used to keep the lease until its TTL (10 minutes here): the release fenced the session,
        // the fence met the first recording's FFmpeg, already disposed, and threw before the lease was released.
        var next = await Eventually.ReturnsAsync(() => StreamFactory.ConnectAsync(grain, hash), r => r.Accepted, TimeSpan.FromSeconds(10), "the stream's next session to be accepted");
        Assert.NotEqual(session.SessionId, next.SessionId);

        Assert.Equal(("vp8", false), (first.Video!.Codec, first.Video.Passthrough));
        Assert.Equal(("h264", true), (second.Video!.Codec, second.Video.Passthrough));
        Assert.Equal(1, second.Ffmpeg.Restarts);
        Assert.NotEqual(first.Ffmpeg.Pid, second.Ffmpeg.Pid);
        Assert.Equal(SessionState.Active, second.State);
        var playlist = await File.ReadAllTextAsync(Playlist(session.SessionId!));
        Assert.Equal(1, HlsPlaylist.DiscontinuitiesBetweenSegments(playlist));
        Assert.Contains("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
        var seconds = playlist.Split('\n').Where(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal))
            .Sum(l => double.Parse(l["#EXTINF:".Length..].TrimEnd(','), System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(seconds, 18, 21);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_killed_ffmpeg_is_restarted_from_the_init_segment_and_the_next_keyframe_and_the_output_decodes_cleanly()
    {
        var capture = MediaCapture.Load("h264-opus-mkv-slice1000-kfdefault");
        var (grain, hash) = await StreamFactory.CreateAsync(_cluster.Client, [new OutputSpec(OutputType.Hls, Record: true)]);
        var session = await StreamFactory.ConnectAsync(grain, hash);
        var chunks = capture.Chunks().ToList();
        var half = chunks.Count / 2;
        var offset = await StreamFactory.WriteAllAsync(grain, session.Epoch, 0, chunks.Take(half));
        var first = (await grain.GetSessionAsync(session.SessionId!))!.Ffmpeg.Pid!.Value;

        // H.264 with keyframes 5 s apart is passed through, so a restart that did not begin at a keyframe would show
        // in the output's decode.
        // As in a live stream, the first FFmpeg has caught up with its input (its buffer drained, a 5 s segment
        // out) when it dies.
        await Eventually.ReturnsAsync(() => grain.GetSessionAsync(session.SessionId!), s => s!.BufferedBytes == 0, Timeout, "the buffer to drain");
        await Eventually.HoldsAsync(
            () => File.Exists(Playlist(session.SessionId!)) && File.ReadAllText(Playlist(session.SessionId!)).Split("#EXTINF").Length > 1,
            Timeout,
            "the first FFmpeg to write a segment");

        using (var kill = Process.Start("kill", ["-9", first.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        var restarted = await Eventually.ReturnsAsync(
            () => grain.GetSessionAsync(session.SessionId!),
            s => s!.Ffmpeg.Restarts == 1 && s.Ffmpeg.Pid is not null,
            Timeout,
            "FFmpeg to be restarted");
        Assert.NotEqual(first, restarted!.Ffmpeg.Pid);
        Assert.Equal(SessionState.Active, restarted.State);
        await StreamFactory.WriteAllAsync(grain, session.Epoch, offset, chunks.Skip(half));
        await grain.DisconnectAsync(session.Epoch, DisconnectKind.End, CloseCodes.Normal);
        await FinalisedAsync(session.SessionId!);

        Assert.False(ProcessProbe.IsRunning(first));
        var playlist = await File.ReadAllTextAsync(Playlist(session.SessionId!));
        Assert.Equal(1, HlsPlaylist.DiscontinuitiesBetweenSegments(playlist));
        Assert.Contains("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
        Assert.Equal("", await MediaProbe.DecodeErrorsAsync(Playlist(session.SessionId!)));
        // Each FFmpeg's output starts its own timeline after the discontinuity; what counts is how much of the
        // stream reached the playlist: all of it but what the killed FFmpeg had not yet written out (its segment in
        // progress) and the frames until the next keyframe.
        var seconds = playlist.Split('\n').Where(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal))
            .Sum(l => double.Parse(l["#EXTINF:".Length..].TrimEnd(','), System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(seconds, capture.DurationMs / 1000 - 11, capture.DurationMs / 1000 + 1);
    }

    /// <summary>
    /// Waits until the session's last FFmpeg has exited and the playlist has its end tag: the session answers `end`
    /// after at most EndWait, while FFmpeg may still be finishing a re-encode on a busy machine (and an earlier
    /// recording's FFmpeg writes an end tag of its own before the next one appends to the playlist).
    /// </summary>
    private Task FinalisedAsync(string sessionId) =>
        Eventually.HoldsAsync(
            () => ProcessProbe.FindFfmpegUnder(DataLayout.HlsDirectory(_dataPath, sessionId)).Count == 0
                && File.Exists(Playlist(sessionId))
                && File.ReadAllText(Playlist(sessionId)).Contains("#EXT-X-ENDLIST", StringComparison.Ordinal),
            TimeSpan.FromSeconds(90),
            "FFmpeg to finalise the playlist");

    private string Playlist(string sessionId) => Path.Combine(DataLayout.HlsDirectory(_dataPath, sessionId), "index.m3u8");
}

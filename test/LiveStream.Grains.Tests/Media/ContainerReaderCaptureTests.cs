using CliWrap;
using CliWrap.Buffered;
using LiveStream.Media.Containers;

namespace LiveStream.Grains.Tests.Media;

/// <summary>What the reader finds in each real capture matches the capture table of <c>test/media/README.md</c>.</summary>
public sealed class ContainerReaderCaptureTests
{
    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task Tracks_have_the_codecs_of_the_capture_in_file_order(string name) => Task.Run(() =>
    {
        var facts = CaptureFacts.Of(name);

        var sink = Captures.ReadWhole(Captures.Get(name).Bytes);

        Assert.Equal([(0L, facts.Kind)], sink.Recordings);
        var tracks = Assert.Single(sink.Inits).Tracks;
        Assert.Equal(facts.Codecs, tracks.Select(t => t.Codec));
        Assert.All(tracks, t => Assert.Equal(t.Codec == "opus" ? TrackKind.Audio : TrackKind.Video, t.Kind));
        Assert.All(tracks.Where(t => t.Codec == "opus"), t => Assert.NotEmpty(t.CodecPrivate));
    });

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task The_init_segment_starts_at_zero_and_ends_where_the_first_fragment_starts(string name) => Task.Run(() =>
    {
        var sink = Captures.ReadWhole(Captures.Get(name).Bytes);

        var (start, end, _) = Assert.Single(sink.Inits);
        Assert.Equal(0, start);
        Assert.True(end > 0);
        Assert.Equal(end, sink.Fragments[0].Offset);
        Assert.All(sink.Fragments, f => Assert.True(f.Offset >= end));
        Assert.Equal(sink.Fragments.OrderBy(f => f.Offset).Select(f => f.Offset), sink.Fragments.Select(f => f.Offset));
    });

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task Video_frames_and_keyframes_match_the_capture_table(string name) => Task.Run(() =>
    {
        var facts = CaptureFacts.Of(name);

        var sink = Captures.ReadWhole(Captures.Get(name).Bytes);

        var video = VideoFrames(sink);
        Assert.InRange(video.Count, facts.VideoFrames - 1, facts.VideoFrames + 1);
        Assert.InRange(video.Count(f => f.Keyframe), Math.Max(0, facts.Keyframes - 1), facts.Keyframes + 1);
        if (video.Count > 0)
        {
            Assert.True(video[0].Keyframe, "a recording starts with a keyframe");
        }
    });

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task Every_keyframe_starts_a_fragment_and_only_those_fragments_start_with_one(string name) => Task.Run(() =>
    {
        var facts = CaptureFacts.Of(name);

        var sink = Captures.ReadWhole(Captures.Get(name).Bytes);

        var keyframeFragments = sink.Fragments.Count(f => f.StartsWithKeyframe);
        if (facts.VideoFrames == 0)
        {
            // Audio only: any fragment is a place to join.
            Assert.Equal(sink.Fragments.Count, keyframeFragments);
            Assert.Equal(sink.ClusterTimestamps.Count, sink.Fragments.Count);
        }
        else
        {
            Assert.Equal(VideoFrames(sink).Count(f => f.Keyframe), keyframeFragments);
            Assert.InRange(keyframeFragments, Math.Max(0, facts.Keyframes - 1), facts.Keyframes + 1);
        }
    });

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task Timestamps_never_decrease_within_a_track(string name) => Task.Run(() =>
    {
        var sink = Captures.ReadWhole(Captures.Get(name).Bytes);

        foreach (var track in sink.Frames.GroupBy(f => f.Track))
        {
            var times = track.Select(f => f.TimestampMs).ToList();
            Assert.Equal(times.Order(), times);
        }

        Assert.Equal(sink.Fragments.Select(f => f.TimestampMs).Order(), sink.Fragments.Select(f => f.TimestampMs));
        Assert.InRange(sink.Frames.Max(f => f.TimestampMs), 5_500, 21_000);
    });

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task Cluster_timestamps_point_at_their_payload(string name) => Task.Run(() =>
    {
        var capture = Captures.Get(name);

        var sink = Captures.ReadWhole(capture.Bytes);

        foreach (var (offset, length, value) in sink.ClusterTimestamps)
        {
            var payload = capture.Bytes.AsSpan((int)offset, length);
            var decoded = 0L;
            foreach (var b in payload)
            {
                decoded = (decoded << 8) | b;
            }

            Assert.Equal(value, decoded);
            Assert.Equal(0xE7, capture.Bytes[(int)offset - 2]);
        }

        Assert.Equal(CaptureFacts.Of(name).Kind == ContainerKind.Mp4, sink.ClusterTimestamps.Count == 0);
    });

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task Init_plus_the_bytes_from_a_keyframe_fragment_read_as_a_complete_recording(string name) => Task.Run(() =>
    {
        var capture = Captures.Get(name);
        var original = Captures.ReadWhole(capture.Bytes);
        var init = original.Inits[0];
        var joinAt = JoinPoint(original);

        var cut = Cut(capture.Bytes, init.End, joinAt);
        var joined = Captures.ReadWhole(cut);

        // What a restarted decoder is given: the same tracks, then a first fragment that starts with a keyframe.
        var shift = joinAt - init.End;
        Assert.Equal([(0L, original.Recordings[0].Kind)], joined.Recordings);
        Assert.Equal(original.Events[1], joined.Events[1]);
        Assert.Equal((init.End, true), (joined.Fragments[0].Offset, joined.Fragments[0].StartsWithKeyframe));
        Assert.Equal(
            original.Fragments.Where(f => f.Offset >= joinAt).Select(f => (f.Offset - shift, f.StartsWithKeyframe, f.TimestampMs)),
            joined.Fragments);
        Assert.Equal(
            original.Frames.Where(f => f.Position > joinAt).Select(f => (f.Track, f.TimestampMs, f.Keyframe)),
            joined.Frames.Select(f => (f.Track, f.TimestampMs, f.Keyframe)));
        if (VideoFrames(joined) is [var first, ..])
        {
            Assert.True(first.Keyframe);
        }
    });

    [Theory(Timeout = 120_000)]
    [InlineData("vp8-opus")]
    [InlineData("h264-opus-mkv")]
    [InlineData("fmp4-avc1-opus")]
    public async Task Init_plus_the_bytes_from_a_keyframe_fragment_decode_in_ffmpeg_without_errors(string name)
    {
        var capture = Captures.Get(name);
        var original = Captures.ReadWhole(capture.Bytes);
        var init = original.Inits[0];
        var joinAt = JoinPoint(original);
        var expectedFrames = VideoFrames(original).Count(f => f.Position > joinAt);
        var extension = original.Recordings[0].Kind == ContainerKind.Mp4 ? "mp4" : "mkv";
        var file = Path.Combine(Path.GetTempPath(), $"livestream-join-{Guid.NewGuid():N}.{extension}");
        await File.WriteAllBytesAsync(file, Cut(capture.Bytes, init.End, joinAt));
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var result = await Cli.Wrap("ffprobe")
                .WithArguments(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file])
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(timeout.Token);

            Assert.True(result.ExitCode == 0 && result.StandardError.Length == 0, $"ffprobe: {result.StandardError}");
            Assert.InRange(int.Parse(result.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture), expectedFrames - 1, expectedFrames);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The keyframe fragment in the middle of the recording (the first one for audio only would be trivial).</summary>
    private static long JoinPoint(RecordingSink sink)
    {
        var keyframeFragments = sink.Fragments.Where(f => f.StartsWithKeyframe).ToList();
        return keyframeFragments[keyframeFragments.Count / 2].Offset;
    }

    private static byte[] Cut(byte[] bytes, long initEnd, long joinAt) => [.. bytes.AsSpan(0, (int)initEnd), .. bytes.AsSpan((int)joinAt)];

    private static List<(long Track, long TimestampMs, bool Keyframe, long Position)> VideoFrames(RecordingSink sink)
    {
        var video = sink.Inits.SelectMany(i => i.Tracks).Where(t => t.Kind == TrackKind.Video).Select(t => t.Number).ToHashSet();
        return [.. sink.Frames.Where(f => video.Contains(f.Track))];
    }
}

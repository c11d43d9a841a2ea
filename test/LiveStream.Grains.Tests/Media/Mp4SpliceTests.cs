using System.Buffers.Binary;
using LiveStream.Media;
using LiveStream.Media.Containers;
using LiveStream.Testing;

namespace LiveStream.Grains.Tests.Media;

/// <summary>
/// A fragmented MP4 recorder restart (Safari's only format) with the same codec configuration continues in the same
/// FFmpeg: what the router feeds is one continuous fragmented MP4, checked here byte by byte on real captures.
/// </summary>
public sealed class Mp4SpliceTests
{
    private const long GapMs = 1077;

    [Fact]
    public void A_restart_is_fed_as_one_recording_with_the_first_tracks_ids_and_continuing_times_and_sequence_numbers()
    {
        var a = MediaCapture.Load("fmp4-avc1-opus-restart/a");
        var b = MediaCapture.Load("fmp4-avc1-opus-restart/b");
        var feed = new CapturingFeed();
        using var router = new MediaRouter(feed);

        Commit(router, a, atMs: 0);
        router.NewConnection();
        Commit(router, b, atMs: 8000 + GapMs);
        router.Flush();

        Assert.Equal(1, feed.Starts);
        Assert.Equal(1, router.Splices);
        var fed = feed.Bytes.ToArray();
        var bInit = Captures.ReadWhole(b.Bytes).Inits[0].End;
        Assert.Equal(a.Bytes.Length + b.Bytes.Length - bInit, fed.Length);

        var sink = Captures.ReadWhole(fed);
        var tracks = Assert.Single(sink.Inits).Tracks;
        Assert.Single(sink.Recordings);
        var ids = tracks.Select(t => t.Number).ToHashSet();
        var video = tracks.Single(t => t.Kind == TrackKind.Video).Number;
        var audio = tracks.Single(t => t.Kind == TrackKind.Audio).Number;

        // Every fragment names the first recording's track IDs (B numbered its tracks the other way round).
        Assert.All(sink.FragmentFields.Where(f => f.Field == FragmentField.TrackId), f => Assert.Contains(f.Value, ids));
        var sequence = sink.FragmentFields.Where(f => f.Field == FragmentField.SequenceNumber).Select(f => f.Value).ToList();
        Assert.Equal(Enumerable.Range(1, sequence.Count).Select(i => (long)i), sequence);

        // Decode times go on: B's first video frame lands one frame after A's last, and no later than the gap.
        var videoTimes = sink.Frames.Where(f => f.Track == video).Select(f => f.TimestampMs).ToList();
        Assert.Equal(a.VideoFrames() + b.VideoFrames(), videoTimes.Count);
        for (var i = 1; i < videoTimes.Count; i++)
        {
            Assert.True(videoTimes[i] > videoTimes[i - 1], $"video time went from {videoTimes[i - 1]} to {videoTimes[i]} at frame {i}");
        }

        var join = a.VideoFrames();
        Assert.InRange(videoTimes[join] - videoTimes[join - 1], 1, GapMs);

        // Both tracks moved by the same amount: B's first audio and video frames keep their distance.
        var bOwn = Captures.ReadWhole(b.Bytes);
        var bTracks = bOwn.Inits[0].Tracks;
        var bVideo = bOwn.Frames.First(f => f.Track == bTracks.Single(t => t.Kind == TrackKind.Video).Number).TimestampMs;
        var bAudio = bOwn.Frames.First(f => f.Track == bTracks.Single(t => t.Kind == TrackKind.Audio).Number).TimestampMs;
        var audioTimes = sink.Frames.Where(f => f.Track == audio).Select(f => f.TimestampMs).ToList();
        var firstAudioOfB = audioTimes[a.Frames(TrackKind.Audio)];
        Assert.InRange(videoTimes[join] - firstAudioOfB - (bVideo - bAudio), -1, 1);
    }

    [Fact]
    public void A_recording_cut_between_a_moof_and_its_mdat_never_hands_ffmpeg_the_orphan_moof()
    {
        var a = MediaCapture.Load("fmp4-avc1-opus-restart/a");
        var b = MediaCapture.Load("fmp4-avc1-opus-restart/b");
        var fragments = Captures.ReadWhole(a.Bytes).Fragments;
        var lastMoof = (int)fragments[^1].Offset;
        var lastMoofSize = (int)BinaryPrimitives.ReadUInt32BigEndian(a.Bytes.AsSpan(lastMoof));

        // The tab dies after the last moof and 100 bytes of its mdat.
        var cut = lastMoof + lastMoofSize + 100;
        var feed = new CapturingFeed();
        using var router = new MediaRouter(feed);
        router.Commit(a.Bytes.AsSpan(0, cut), 0);
        Assert.Equal(lastMoof, feed.Bytes.Count);
        router.NewConnection();
        Commit(router, b, atMs: 8000);
        router.Flush();

        Assert.Equal((1, 1), (feed.Starts, router.Splices));
        var sink = Captures.ReadWhole(feed.Bytes.ToArray());
        Assert.Equal(fragments.Count - 1 + Captures.ReadWhole(b.Bytes).Fragments.Count, sink.Fragments.Count);
        Assert.Equal(a.VideoFrames() - FramesIn(a, fragments.Count - 1) + b.VideoFrames(), sink.Frames.Count(f => f.Track == 2));
    }

    [Fact]
    public void A_restart_with_another_codec_configuration_or_container_gets_a_new_ffmpeg()
    {
        var a = MediaCapture.Load("fmp4-avc1-opus-restart/a");
        var b = MediaCapture.Load("fmp4-avc1-opus-restart/b");

        // B with another H.264 level in its avcC: a real change of codec configuration.
        var changed = b.Bytes.ToArray();
        var avcC = changed.AsSpan().IndexOf("avcC"u8);
        changed[avcC + 4 + 3] ^= 0x01;
        var feed = new CapturingFeed();
        using (var router = new MediaRouter(feed))
        {
            Commit(router, a, atMs: 0);
            router.Commit(changed, 9000);
            Assert.Equal((2, 0), (feed.Starts, router.Splices));
        }

        // A Matroska recording after an MP4 one, same codecs: another container for FFmpeg to read.
        feed = new CapturingFeed();
        using (var router = new MediaRouter(feed))
        {
            Commit(router, a, atMs: 0);
            Commit(router, MediaCapture.Load("h264-opus-restart/b"), atMs: 9000);
            Assert.Equal((2, 0), (feed.Starts, router.Splices));
        }
    }

    [Theory]
    [InlineData("vp8-opus-restart", new byte[] { 0xA3 }, 1)]
    [InlineData("vp8-opus-restart", new byte[] { 0xA3 }, 3)]
    [InlineData("vp8-opus-restart", new byte[] { 0xA3, 0x40 }, 5)]
    [InlineData("fmp4-avc1-opus-restart", new byte[] { 0x00, 0x00 }, 1)]
    [InlineData("fmp4-avc1-opus-restart", new byte[] { 0x00, 0x00, 0x01 }, 7)]
    public void A_new_connections_first_bytes_start_a_new_recording_even_when_they_come_a_few_at_a_time(string name, byte[] cut, int firstWrite)
    {
        // The old recording ends inside an element header; the new one's first chunk is tiny (Chromium's first
        // dataavailable can hold a single byte of the EBML header).
        var a = MediaCapture.Load(name + "/a");
        var b = MediaCapture.Load(name + "/b");
        var feed = new CapturingFeed();
        using var router = new MediaRouter(feed);
        Commit(router, a, atMs: 0);
        router.Commit(cut, 9000);
        router.NewConnection();
        router.Commit(b.Bytes.AsSpan(0, firstWrite), 9500);
        router.Commit(b.Bytes.AsSpan(firstWrite), 9600);
        router.Flush();

        Assert.Equal((1, 1), (feed.Starts, router.Splices));
        var sink = Captures.ReadWhole([.. feed.Bytes]);
        Assert.Single(sink.Recordings);
        Assert.Equal(a.VideoFrames() + b.VideoFrames(), sink.Frames.Count(f => sink.Inits[0].Tracks.Single(t => t.Kind == TrackKind.Video).Number == f.Track));
    }

    private static void Commit(MediaRouter router, MediaCapture capture, long atMs)
    {
        foreach (var chunk in capture.Chunks())
        {
            router.Commit(chunk.Span, atMs);
            atMs += 500;
        }
    }

    private static int FramesIn(MediaCapture capture, int fragment)
    {
        var sink = Captures.ReadWhole(capture.Bytes);
        var start = sink.Fragments[fragment].Offset;
        var end = fragment + 1 < sink.Fragments.Count ? sink.Fragments[fragment + 1].Offset : long.MaxValue;
        var video = sink.Inits[0].Tracks.Single(t => t.Kind == TrackKind.Video).Number;
        return sink.Frames.Count(f => f.Track == video && f.Position > start && f.Position <= end);
    }

    private sealed class CapturingFeed : IMediaFeed
    {
        public int Starts { get; private set; }

        public List<byte> Bytes { get; } = [];

        public void Start(IReadOnlyList<TrackInfo> tracks, bool restartOfRecording) => Starts++;

        public void Feed(ReadOnlySpan<byte> data) => Bytes.AddRange(data);
    }
}

/// <summary>Frame counts of a capture as the reader finds them.</summary>
internal static class CaptureFrameCounts
{
    public static int VideoFrames(this MediaCapture capture) => capture.Frames(TrackKind.Video);

    public static int Frames(this MediaCapture capture, TrackKind kind)
    {
        var sink = Captures.ReadWhole(capture.Bytes);
        var numbers = sink.Inits[0].Tracks.Where(t => t.Kind == kind).Select(t => t.Number).ToHashSet();
        return sink.Frames.Count(f => numbers.Contains(f.Track));
    }
}

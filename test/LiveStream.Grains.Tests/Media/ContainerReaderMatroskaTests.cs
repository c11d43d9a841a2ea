using System.Buffers.Binary;
using LiveStream.Media.Containers;
using static LiveStream.Grains.Tests.Media.EbmlWriter;

namespace LiveStream.Grains.Tests.Media;

/// <summary>Matroska features MediaRecorder does not use but other muxers do: known sizes, BlockGroups, other TimestampScales.</summary>
public sealed class ContainerReaderMatroskaTests
{
    private const uint Segment = 0x18538067;
    private const uint Cluster = 0x1F43B675;

    [Fact(Timeout = 60_000)]
    public Task Known_size_segment_and_clusters_give_the_same_events_as_unknown_sizes() => Task.Run(() =>
    {
        var capture = Captures.Get("h264-opus-mkv-slice1000-kfdefault");
        var unknown = Captures.ReadWhole(capture.Bytes);
        var known = capture.Bytes.ToArray();

        // MediaRecorder writes both sizes as 8-byte all-ones vints, so known sizes fit in place.
        var segment = known.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x18, 0x53, 0x80, 0x67]);
        WriteSize(known, segment + 4, known.Length - (segment + 12));
        var starts = unknown.Fragments.Select(f => (int)f.Offset).Order().Append(known.Length).ToList();
        for (var i = 0; i + 1 < starts.Count; i++)
        {
            WriteSize(known, starts[i] + 4, starts[i + 1] - (starts[i] + 12));
        }

        Assert.Equal(unknown.Events, Captures.ReadWhole(known).Events);
        Assert.Equal(unknown.Events, Captures.Read(known, Enumerable.Repeat(1, known.Length)).Events);
    });

    [Fact(Timeout = 10_000)]
    public Task A_block_group_is_a_keyframe_unless_it_has_a_reference_block() => Task.Run(() =>
    {
        byte[] stream =
        [
            .. Header("matroska", timestampScale: 100_000),
            .. UnknownSize(Cluster),
            .. UInt(0xE7, 10_000),
            .. SimpleBlock(2, 0, 0x80),
            .. Element(0xA0, Block(0xA1, 1, 0, 0x00)),
            .. Element(0xA0, Block(0xA1, 1, 330, 0x00), Element(0xFB, [0xFE, 0xB6])),
            .. Element(0xA0, Element(0x9B, [0x21]), Block(0xA1, 1, 660, 0x00), Element(0xFB, [0xFE, 0xB6])),
            .. UnknownSize(Cluster),
            .. UInt(0xE7, 20_000),
            .. Element(0xA0, Block(0xA1, 1, 0, 0x00), Element(0xFB, [0xFE, 0xB6])),
        ];

        var sink = Captures.ReadWhole(stream);
        var bytewise = Captures.Read(stream, Enumerable.Repeat(1, stream.Length));

        // TimestampScale 100 µs: ticks / 10 = ms. The fragment waits for the first video block, after the audio one.
        Assert.Equal(
            [(2L, 1000L, true), (1L, 1000L, true), (1L, 1033L, false), (1L, 1066L, false), (1L, 2000L, false)],
            sink.Frames.Select(f => (f.Track, f.TimestampMs, f.Keyframe)));
        Assert.Equal([true, false], sink.Fragments.Select(f => f.StartsWithKeyframe));
        Assert.Equal([1000L, 2000L], sink.Fragments.Select(f => f.TimestampMs));
        Assert.Equal([10_000L, 20_000L], sink.ClusterTimestamps.Select(t => t.Value));
        Assert.Equal(sink.Events, bytewise.Events);
        Assert.Contains("frame 2 1000 True", sink.Events.TakeWhile(e => !e.StartsWith("fragment", StringComparison.Ordinal)));
    });

    [Fact(Timeout = 10_000)]
    public Task A_cluster_without_video_is_reported_at_its_end_as_not_starting_with_a_keyframe() => Task.Run(() =>
    {
        byte[] stream =
        [
            .. Header("webm", timestampScale: 1_000_000),
            .. UnknownSize(Cluster),
            .. UInt(0xE7, 0),
            .. SimpleBlock(1, 0, 0x80),
            .. UnknownSize(Cluster),
            .. UInt(0xE7, 500),
            .. SimpleBlock(2, 0, 0x80),
            .. SimpleBlock(2, 20, 0x80),
            .. UnknownSize(0x1F43B675),
            .. UInt(0xE7, 1000),
            .. SimpleBlock(1, 0, 0x00),
        ];

        var sink = Captures.ReadWhole(stream);

        Assert.Equal([(true, 0L), (false, 500L), (false, 1000L)], sink.Fragments.Select(f => (f.StartsWithKeyframe, f.TimestampMs)));
        var fragment = sink.Events.IndexOf("fragment " + sink.Fragments[1].Offset + " False 500");
        Assert.Equal("frame 2 520 True", sink.Events[fragment - 1]);
    });

    [Fact(Timeout = 10_000)]
    public Task A_block_for_a_track_not_in_tracks_is_refused() => Task.Run(() =>
    {
        byte[] stream = [.. Header("webm", 1_000_000), .. UnknownSize(Cluster), .. UInt(0xE7, 0), .. SimpleBlock(3, 0, 0x80)];
        var reader = new ContainerReader(new NullSink());

        var error = Assert.Throws<MediaFormatException>(() => reader.Push(stream));

        Assert.Equal("block for unknown track 3", error.Message);
    });

    [Fact(Timeout = 10_000)]
    public Task A_cluster_before_tracks_is_refused() => Task.Run(() =>
    {
        byte[] stream =
        [
            .. Element(0x1A45DFA3, Text(0x4282, "webm")),
            .. UnknownSize(Segment),
            .. UnknownSize(Cluster),
        ];
        var reader = new ContainerReader(new NullSink());

        var error = Assert.Throws<MediaFormatException>(() => reader.Push(stream));

        Assert.Equal("Cluster before Tracks", error.Message);
    });

    /// <summary>EBML header, unknown-size Segment, Info and Tracks: track 1 VP8 video, track 2 Opus audio.</summary>
    private static byte[] Header(string docType, ulong timestampScale) =>
    [
        .. Element(0x1A45DFA3, UInt(0x4286, 1), Text(0x4282, docType)),
        .. UnknownSize(Segment),
        .. Element(0x1549A966, UInt(0x2AD7B1, timestampScale)),
        .. Element(
            0x1654AE6B,
            Element(0xAE, UInt(0xD7, 1), UInt(0x83, 1), Text(0x86, "V_VP8")),
            Element(0xAE, UInt(0xD7, 2), UInt(0x83, 2), Text(0x86, "A_OPUS"), Element(0x63A2, "OpusHead"u8.ToArray()))),
    ];

    private static byte[] SimpleBlock(int track, short relative, byte flags) => Block(0xA3, track, relative, flags);

    private static void WriteSize(byte[] bytes, int at, long size) =>
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(at), size | (1L << 56));
}

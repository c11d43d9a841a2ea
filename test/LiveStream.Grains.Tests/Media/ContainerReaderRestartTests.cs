using LiveStream.Media.Containers;

namespace LiveStream.Grains.Tests.Media;

/// <summary>A recorder restart (a new EBML header or ftyp mid-stream) starts a new recording with its own init segment.</summary>
public sealed class ContainerReaderRestartTests
{
    [Theory(Timeout = 60_000)]
    [InlineData("vp8-opus-restart")]
    [InlineData("h264-opus-restart")]
    public Task A_second_recorder_gives_a_second_recording_with_equal_tracks(string name) => Task.Run(() =>
    {
        var a = Captures.Get($"{name}/a").Bytes;
        var b = Captures.Get($"{name}/b").Bytes;

        var sink = Captures.Read([.. a, .. b], Captures.Get($"{name}/a").ChunkSizes);

        Assert.Equal([(0L, ContainerKind.Matroska), (a.Length, ContainerKind.Matroska)], sink.Recordings);
        Assert.Equal([0, 0], sink.TrackCountsAtRecordingStart);
        Assert.Equal(2, sink.Inits.Count);
        Assert.Equal(a.Length, sink.Inits[1].Start);
        Assert.True(sink.Inits[1].End > a.Length);
        Assert.Equal(sink.Inits[0].End, sink.Inits[1].End - a.Length);
        Assert.Equal(sink.Inits[0].Tracks.Select(t => t.Codec), sink.Inits[1].Tracks.Select(t => t.Codec));
        Assert.All(sink.Inits[0].Tracks.Zip(sink.Inits[1].Tracks), pair => Assert.Equal(pair.First.CodecPrivate, pair.Second.CodecPrivate));
        Assert.Equal(sink.Inits[1].End, sink.Fragments.First(f => f.Offset > a.Length).Offset);
    });

    [Fact(Timeout = 60_000)]
    public Task The_restarted_stream_gives_the_events_of_its_two_parts() => Task.Run(() =>
    {
        var a = Captures.Get("vp8-opus-restart/a").Bytes;
        var b = Captures.Get("vp8-opus-restart/b").Bytes;
        var first = Captures.ReadWhole(a);
        var second = Captures.ReadWhole(b);

        var both = Captures.Read([.. a, .. b], Enumerable.Repeat(1, a.Length + b.Length));

        // Offsets in the second part are shifted by the first part's length; nothing else differs.
        Assert.Equal(first.Frames.Count + second.Frames.Count, both.Frames.Count);
        Assert.Equal(
            first.Fragments.Concat(second.Fragments.Select(f => (f.Offset + a.Length, f.StartsWithKeyframe, f.TimestampMs))),
            both.Fragments);
        Assert.Equal(
            first.Frames.Concat(second.Frames).Select(f => (f.Track, f.TimestampMs, f.Keyframe)),
            both.Frames.Select(f => (f.Track, f.TimestampMs, f.Keyframe)));
    });

    [Fact(Timeout = 60_000)]
    public Task A_restart_may_switch_between_webm_and_mp4() => Task.Run(() =>
    {
        var webm = Captures.Get("vp8-opus-restart/a").Bytes;
        var mp4 = Captures.Get("fmp4-avc1-opus").Bytes;
        var audio = Captures.Get("audio-only-opus").Bytes;
        byte[] stream = [.. webm, .. mp4, .. audio];

        var whole = Captures.ReadWhole(stream);
        var bytewise = Captures.Read(stream, Enumerable.Repeat(1, stream.Length));

        Assert.Equal(
            [(0L, ContainerKind.Matroska), (webm.Length, ContainerKind.Mp4), (webm.Length + mp4.Length, ContainerKind.Matroska)],
            whole.Recordings);
        Assert.Equal(["vp8,opus", "h264,opus", "opus"], whole.Inits.Select(i => string.Join(",", i.Tracks.Select(t => t.Codec))));
        Assert.Equal(366 + 733 + 166, whole.Frames.Count);
        Assert.Equal(whole.Events, bytewise.Events);
    });

    [Fact(Timeout = 60_000)]
    public Task The_reader_exposes_the_tracks_of_the_current_recording() => Task.Run(() =>
    {
        var webm = Captures.Get("vp8-opus-restart/a").Bytes;
        var audio = Captures.Get("audio-only-opus").Bytes;
        var reader = new ContainerReader(new NullSink());

        reader.Push(webm);
        Assert.Equal((ContainerKind.Matroska, 2), (reader.Kind, reader.Tracks.Count));

        reader.Push(audio.AsSpan(0, 4));
        Assert.Equal(2, reader.Tracks.Count);

        reader.Push(audio.AsSpan(4));
        Assert.Equal(["opus"], reader.Tracks.Select(t => t.Codec));
        Assert.Equal(webm.Length + audio.Length, reader.Position);
    });
}

using System.Buffers.Binary;
using System.Diagnostics;
using LiveStream.Media;
using LiveStream.Media.Containers;
using LiveStream.Testing;

namespace LiveStream.Grains.Tests.Media;

/// <summary>
/// Media built to make the server work, not to be watched: the reader's work stays proportional to the bytes it is
/// given, and the router's state stays bounded whatever the chunking.
/// </summary>
public sealed class HostileMediaTests
{
    /// <summary>A real fMP4 init segment, then a moof whose trun claims <paramref name="samples"/> samples in 12 bytes.</summary>
    internal static byte[] TrunBomb(uint samples)
    {
        var capture = MediaCapture.Load("fmp4-avc1-opus");
        var init = Captures.ReadWhole(capture.Bytes).Inits[0];
        var video = (uint)init.Tracks.Single(t => t.Kind == TrackKind.Video).Number;
        byte[] mfhd = Box("mfhd", [0, 0, 0, 0, 0, 0, 0, 1]);

        // tfhd: default-base-is-moof and a default sample size of 1 byte; trun: no per-sample field at all.
        var tfhd = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(tfhd, 0x020010);
        BinaryPrimitives.WriteUInt32BigEndian(tfhd.AsSpan(4), video);
        BinaryPrimitives.WriteUInt32BigEndian(tfhd.AsSpan(8), 1);
        var trun = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(trun.AsSpan(4), samples);
        var moof = Box("moof", [.. mfhd, .. Box("traf", [.. Box("tfhd", tfhd[..12]), .. Box("trun", trun)])]);
        return [.. capture.Bytes.AsSpan(0, (int)init.End), .. moof, .. Box("mdat", new byte[16])];
    }

    [Fact(Timeout = 10_000)]
    public Task A_trun_claiming_65535_samples_in_a_few_bytes_is_refused_without_a_callback_per_claim() => Task.Run(() =>
    {
        var bomb = TrunBomb(65_535);
        var sink = new NullSink();
        var reader = new ContainerReader(sink);
        var time = Stopwatch.StartNew();

        var error = Assert.Throws<MediaFormatException>(() => reader.Push(bomb));

        Assert.Equal("a fragment claims more samples than its bytes can carry", error.Message);
        Assert.Equal(0, sink.Frames);
        Assert.True(time.ElapsedMilliseconds < 1000, $"{time.ElapsedMilliseconds} ms");
    });

    [Fact(Timeout = 60_000)]
    public Task Reading_any_capture_costs_at_most_a_few_callbacks_per_byte() => Task.Run(() =>
    {
        foreach (var name in Captures.Names)
        {
            var bytes = Captures.Get(name).Bytes;
            var sink = new NullSink();
            new ContainerReader(sink).Push(bytes);
            Assert.True(sink.Frames + sink.Fragments < bytes.Length / 4, $"{name}: {sink.Frames} frames for {bytes.Length} bytes");
        }

        // A moof at the bound of 4 samples per byte of its own is read; one more sample is refused.
        var atBound = TrunBomb(64);
        new ContainerReader(new NullSink()).Push(atBound);
    });

    private static byte[] Box(string type, byte[] body)
    {
        var box = new byte[8 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(box, (uint)box.Length);
        System.Text.Encoding.ASCII.GetBytes(type, box.AsSpan(4));
        body.CopyTo(box, 8);
        return box;
    }
}

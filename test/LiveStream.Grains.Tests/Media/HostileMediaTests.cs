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
        var error = Assert.Throws<MediaFormatException>(() => reader.Push(bomb));

        Assert.Equal("a fragment claims more samples than its bytes can carry", error.Message);
        Assert.Equal(0, sink.Frames);
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

    [Theory(Timeout = 60_000)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public Task A_hundred_thousand_empty_clusters_after_a_spliced_restart_leave_the_router_state_flat(int cutInsideTimestamp) => Task.Run(() =>
    {
        var a = MediaCapture.Load("vp8-opus-restart/a");
        var b = MediaCapture.Load("vp8-opus-restart/b");
        var fed = 0L;
        using var router = new MediaRouter(new CountingFeed(n => fed += n));
        router.Commit(a.Bytes, 0);
        router.NewConnection();

        // The restart's header arrives cut inside its first Cluster's Timestamp element, then empty Clusters follow,
        // each cut inside its Timestamp element too.
        var bInit = (int)Captures.ReadWhole(b.Bytes).Inits[0].End;
        var misaligned = bInit + 4 + 8 + cutInsideTimestamp;
        router.Commit(b.Bytes.AsSpan(0, misaligned), 10_000);
        router.Commit(b.Bytes.AsSpan(misaligned), 10_500);
        Assert.Equal(1, router.Splices);

        byte[] cluster = [0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xE7, 0x82, 0, 0];
        var peakPatches = 0;
        var peakHeld = 0;
        // Allocation on this thread only: other tests run beside this one, so the heap's size says nothing here.
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(cluster.AsSpan(14), (ushort)(i % 60_000));
            var cut = cluster.Length - 2 + (i % 3) - 1;
            router.Commit(cluster.AsSpan(0, cut), 11_000 + i);
            router.Commit(cluster.AsSpan(cut), 11_000 + i);
            peakPatches = Math.Max(peakPatches, router.PendingPatches);
            peakHeld = Math.Max(peakHeld, router.HeldBytes);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.True(peakPatches <= 2, $"{peakPatches} rewrites pending at the peak");
        Assert.True(peakHeld <= 2 * cluster.Length, $"{peakHeld} bytes held at the peak");
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated for 100,000 clusters");
        Assert.True(fed > a.Bytes.Length + 90_000L * cluster.Length, $"{fed} bytes fed");
    });

    private sealed class CountingFeed(Action<int> fed) : IMediaFeed
    {
        public void Start(IReadOnlyList<TrackInfo> tracks, bool restartOfRecording)
        {
        }

        public void Feed(ReadOnlySpan<byte> data) => fed(data.Length);
    }

    private static byte[] Box(string type, byte[] body)
    {
        var box = new byte[8 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(box, (uint)box.Length);
        System.Text.Encoding.ASCII.GetBytes(type, box.AsSpan(4));
        body.CopyTo(box, 8);
        return box;
    }
}

using System.Buffers.Binary;
using System.Text;
using LiveStream.Media.Containers;

namespace LiveStream.Grains.Tests.Media;

/// <summary>Bytes that are not MediaRecorder media are refused early, with a short reason, and never half-trusted.</summary>
public sealed class ContainerReaderRefusalTests
{
    // An EBML header needs its 4-byte ID, an MP4 box its 8-byte header, before the reader can tell.
    private const int FirstBytes = 8;

    public static TheoryData<string, byte[]> NotMedia => new()
    {
        { "text", Encoding.UTF8.GetBytes("Hello, this is not a video stream at all.") },
        { "json", Encoding.UTF8.GetBytes("{\"type\":\"hello\",\"streamKey\":\"abc\"}") },
        { "http", Encoding.UTF8.GetBytes("GET / HTTP/1.1\r\nHost: example\r\n\r\n") },
        { "png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52] },
        { "jpeg", [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01] },
        { "ogg", Encoding.ASCII.GetBytes("OggS\0\u0002\0\0\0\0\0\0\0\0") },
        { "mpeg-ts", [0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00] },
        { "zeros", new byte[64] },
        { "mp4 without ftyp", [0x00, 0x00, 0x00, 0x10, (byte)'m', (byte)'o', (byte)'o', (byte)'v', 0, 0, 0, 0, 0, 0, 0, 0] },
        { "ebml-like", [0x1A, 0x45, 0xDF, 0x00, 0x84, 0x42, 0x82, 0x81] },
    };

    [Theory(Timeout = 10_000)]
    [MemberData(nameof(NotMedia))]
    public Task Input_that_is_not_media_is_refused_on_its_first_bytes(string what, byte[] bytes) => Task.Run(() =>
    {
        var pushed = PushBytewiseUntilRefused(bytes, out var error);

        Assert.True(pushed <= FirstBytes, $"{what}: refused only after {pushed} bytes");
        Assert.Equal("not WebM or MP4", error.Message);
    });

    [Fact(Timeout = 10_000)]
    public Task Random_bytes_are_refused_on_their_first_bytes() => Task.Run(() =>
    {
        var random = new Random(42);
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[256];
            random.NextBytes(bytes);

            var pushed = PushBytewiseUntilRefused(bytes, out _);

            Assert.True(pushed <= FirstBytes, $"case {i}: refused only after {pushed} bytes");
        }
    });

    [Fact(Timeout = 10_000)]
    public Task After_a_refusal_every_push_is_refused() => Task.Run(() =>
    {
        var reader = new ContainerReader(new NullSink());
        Assert.Throws<MediaFormatException>(() => reader.Push("PNG"u8));

        var error = Assert.Throws<MediaFormatException>(() => reader.Push(Captures.Get("vp8-opus").Bytes));

        Assert.Equal("not WebM or MP4", error.Message);
    });

    [Fact(Timeout = 10_000)]
    public Task Another_ebml_doc_type_is_refused() => Task.Run(() =>
    {
        var bytes = Captures.Get("vp8-opus").Bytes.ToArray();
        "webx"u8.CopyTo(bytes.AsSpan(IndexOf(bytes, "webm"u8)));

        Assert.Equal("unsupported DocType 'webx'", Refuse(bytes).Message);
    });

    [Fact(Timeout = 10_000)]
    public Task A_size_with_a_leading_zero_byte_is_refused() => Task.Run(() =>
    {
        var bytes = Captures.Get("vp8-opus").Bytes.ToArray();
        bytes[IndexOf(bytes, [0x16, 0x54, 0xAE, 0x6B]) + 4] = 0x00;

        Assert.Equal("invalid size of element 0x1654AE6B", Refuse(bytes).Message);
    });

    [Fact(Timeout = 10_000)]
    public Task Tracks_of_unknown_size_are_refused() => Task.Run(() =>
    {
        var bytes = Captures.Get("vp8-opus").Bytes.ToArray();
        bytes[IndexOf(bytes, [0x16, 0x54, 0xAE, 0x6B]) + 4] = 0xFF;

        Assert.Equal("element 0x1654AE6B has an unknown size", Refuse(bytes).Message);
    });

    [Fact(Timeout = 10_000)]
    public Task A_cluster_claiming_more_than_the_element_limit_is_refused_before_its_bytes_arrive() => Task.Run(() =>
    {
        var bytes = Captures.Get("vp8-opus").Bytes.AsSpan(0, 400).ToArray();
        var cluster = IndexOf(bytes, [0x1F, 0x43, 0xB6, 0x75]);

        // 8-byte size vint of 256 MiB.
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(cluster + 4), 0x01_00_00_00_10_00_00_00);

        Assert.Equal("element 0x1F43B675 is too large", Refuse(bytes).Message);
    });

    [Fact(Timeout = 10_000)]
    public Task A_block_overrunning_its_known_size_cluster_is_refused() => Task.Run(() =>
    {
        var bytes = Captures.Get("vp8-opus").Bytes.AsSpan(0, 400).ToArray();
        var cluster = IndexOf(bytes, [0x1F, 0x43, 0xB6, 0x75]);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(cluster + 4), 0x01_00_00_00_00_00_00_10);

        Assert.Equal("element 0xA3 overruns its parent", Refuse(bytes).Message);
    });

    [Fact(Timeout = 10_000)]
    public Task More_tracks_than_the_limit_are_refused() => Task.Run(() =>
    {
        var reader = new ContainerReader(new NullSink(), new ContainerLimits(MaxTracks: 1));

        var error = Assert.Throws<MediaFormatException>(() => reader.Push(Captures.Get("vp8-opus").Bytes));

        Assert.Equal("more than 1 tracks", error.Message);
    });

    [Fact(Timeout = 10_000)]
    public Task An_init_segment_over_the_header_limit_is_refused() => Task.Run(() =>
    {
        // The moov (1185 bytes) fits the limit on its own; with the ftyp before it the init does not.
        var reader = new ContainerReader(new NullSink(), new ContainerLimits(MaxHeaderBytes: 1200));

        var error = Assert.Throws<MediaFormatException>(() => reader.Push(Captures.Get("fmp4-avc1-opus").Bytes));

        Assert.Equal("init segment too large", error.Message);
    });

    [Fact(Timeout = 10_000)]
    public Task An_mdat_claiming_more_than_the_element_limit_is_refused() => Task.Run(() =>
    {
        var bytes = Captures.Get("fmp4-avc1-opus").Bytes.ToArray();
        var mdat = IndexOf(bytes, "mdat"u8) - 4;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(mdat), 0x7FFF_FFFF);

        Assert.Equal("box 'mdat' is too large", Refuse(bytes).Message);
    });

    [Fact(Timeout = 10_000)]
    public Task A_trun_claiming_more_samples_than_it_holds_is_refused_before_any_frame() => Task.Run(() =>
    {
        var bytes = Captures.Get("fmp4-avc1-opus").Bytes.ToArray();
        var trun = IndexOf(bytes, "trun"u8);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(trun + 8), 1000);
        var sink = new RecordingSink();
        var reader = new ContainerReader(sink);

        var error = Assert.Throws<MediaFormatException>(() => reader.Push(bytes));

        Assert.Equal("trun shorter than its samples", error.Message);
        Assert.Single(sink.Inits);
        Assert.Empty(sink.Fragments);
        Assert.Empty(sink.Frames);
    });

    [Fact(Timeout = 10_000)]
    public Task Refusal_reasons_are_short_printable_text() => Task.Run(() =>
    {
        var bytes = Captures.Get("fmp4-avc1-opus").Bytes.AsSpan(0, 2000).ToArray();
        var moof = IndexOf(bytes, "moof"u8);
        bytes[moof] = 0x01;
        bytes[moof + 1] = 0xFF;

        var message = Refuse(bytes).Message;

        Assert.Equal("unexpected box '0x01FF6F66'", message);
        Assert.True(message.Length < 100 && message.All(c => c is >= ' ' and <= '~'));
    });

    private static MediaFormatException Refuse(byte[] bytes)
    {
        var reader = new ContainerReader(new NullSink());
        return Assert.Throws<MediaFormatException>(() => reader.Push(bytes));
    }

    private static int PushBytewiseUntilRefused(byte[] bytes, out MediaFormatException error)
    {
        var reader = new ContainerReader(new NullSink());
        for (var i = 0; i < bytes.Length; i++)
        {
            try
            {
                reader.Push(bytes.AsSpan(i, 1));
            }
            catch (MediaFormatException ex)
            {
                error = ex;
                return i + 1;
            }
        }

        throw new Xunit.Sdk.XunitException($"{bytes.Length} bytes were accepted");
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> value)
    {
        var index = bytes.AsSpan().IndexOf(value);
        Assert.True(index >= 0);
        return index;
    }
}

namespace LiveStream.Grains.Tests.Media;

/// <summary>The reader reports exactly the same events however the stream is cut.</summary>
public sealed class ContainerReaderSplitTests
{
    private const int RandomSplitsPerCapture = 20;

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task The_original_MediaRecorder_chunks_give_the_same_events_as_one_push(string name) => Task.Run(() =>
    {
        var capture = Captures.Get(name);
        var whole = Captures.ReadWhole(capture.Bytes);

        var chunked = Captures.Read(capture.Bytes, capture.ChunkSizes);

        Assert.NotEmpty(whole.Frames);
        Assert.Equal(whole.Events, chunked.Events);
    });

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task Random_splits_give_the_same_events_as_one_push(string name) => Task.Run(() =>
    {
        var capture = Captures.Get(name);
        var whole = Captures.ReadWhole(capture.Bytes);

        // A fixed seed per capture, so a failure is reproducible.
        var random = new Random(Array.IndexOf(Captures.Names, name) + 1000);
        for (var split = 0; split < RandomSplitsPerCapture; split++)
        {
            var pieces = RandomPieces(random, capture.Bytes.Length);

            var cut = Captures.Read(capture.Bytes, pieces);

            Assert.True(whole.Events.SequenceEqual(cut.Events), $"split {split} of {name} gave other events");
        }
    });

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Captures.All), MemberType = typeof(Captures))]
    public Task One_byte_at_a_time_gives_the_same_events_as_one_push(string name) => Task.Run(() =>
    {
        var capture = Captures.Get(name);
        var whole = Captures.ReadWhole(capture.Bytes);

        var bytewise = Captures.Read(capture.Bytes, Enumerable.Repeat(1, capture.Bytes.Length));

        Assert.Equal(whole.Events, bytewise.Events);
    });

    [Fact(Timeout = 60_000)]
    public Task Empty_pushes_change_nothing() => Task.Run(() =>
    {
        var capture = Captures.Get("fmp4-avc1-opus");
        var whole = Captures.ReadWhole(capture.Bytes);

        var withEmpty = Captures.Read(capture.Bytes, capture.ChunkSizes.SelectMany(size => new[] { 0, size, 0 }));

        Assert.Equal(whole.Events, withEmpty.Events);
    });

    /// <summary>A mix of single bytes, header-sized pieces and larger ones, so every kind of boundary is hit.</summary>
    private static List<int> RandomPieces(Random random, int total)
    {
        var pieces = new List<int>();
        for (var sum = 0; sum < total;)
        {
            var size = random.Next(4) switch
            {
                0 => 1,
                1 => random.Next(2, 16),
                2 => random.Next(16, 1024),
                _ => random.Next(1024, 65536),
            };
            pieces.Add(size);
            sum += size;
        }

        return pieces;
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using LiveStream.Media;
using LiveStream.Media.Containers;
using Xunit.Abstractions;

namespace LiveStream.Grains.Tests.Media;

/// <summary>
/// A structure-aware fuzzing campaign over the real captures, kept in the suite: the fields a hostile publisher would
/// aim at (MP4 <c>trun</c> counts and flags, <c>tfhd</c> flags and track IDs, <c>tfdt</c>, box sizes; Matroska block
/// track numbers, lacing flags and element sizes, Cluster Timestamps) are set to extreme values, and the bytes go
/// through the media router in random chunks with reconnects between them. Every case must be read or refused with
/// a media error only, with work per input byte and memory under fixed bounds.
/// </summary>
/// <remarks>
/// Time-boxed: <c>LIVESTREAM_FUZZ_SECONDS</c> (default 15) per run of <c>./test.sh</c>. A longer campaign:
/// <c>LIVESTREAM_FUZZ_SECONDS=600 dotnet test test/LiveStream.Grains.Tests --filter FullyQualifiedName~StructuredFuzz</c>
/// (the seed is printed; <c>LIVESTREAM_FUZZ_SEED</c> replays one). Any case that fails becomes a regular test.
/// </remarks>
public sealed class StructuredFuzzTests(ITestOutputHelper output)
{
    // Callbacks (frames, fragments, fields) per input byte: a moof may claim 4 samples per byte of its own, each
    // reported once, plus its fields; Matroska reports at most one frame per 4-byte block header.
    private const double MaxCallbacksPerByte = 6;

    // The router holds one header (1 MiB) plus what waits for a keyframe (4 MiB); the reader one buffered element.
    private const long MaxAllocatedBytesPerCase = 16L << 20;

    private static readonly uint[] Extremes = [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF];

    [Fact(Timeout = 900_000)]
    public Task Targeted_mutations_of_real_captures_are_read_or_refused_within_bounds_of_work_and_memory() => Task.Run(() =>
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("LIVESTREAM_FUZZ_SECONDS"), out var s) ? s : 15;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("LIVESTREAM_FUZZ_SEED"), out var given) ? given : Environment.TickCount;
        output.WriteLine($"seed {seed}, {seconds} s");
        var random = new Random(seed);
        var targets = Captures.Names.Select(name => (Name: name, Bytes: Captures.Get(name).Bytes[..Math.Min(200_000, Captures.Get(name).Bytes.Length)])).Select(c => (c.Name, c.Bytes, Fields: Fields(c.Bytes))).ToList();
        var clock = Stopwatch.StartNew();
        var cases = 0;
        var refused = new Dictionary<string, int>();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var (name, original, fields) = targets[random.Next(targets.Count)];
            var mutated = original.ToArray();
            var mutations = 1 + random.Next(4);
            for (var m = 0; m < mutations; m++)
            {
                Mutate(random, mutated, fields[random.Next(fields.Count)]);
            }

            var reason = Run(random, mutated, out var callbacks, out var allocated);
            cases++;
            Assert.True(callbacks <= (mutated.Length * MaxCallbacksPerByte) + 64, $"{name}, seed {seed}, case {cases}: {callbacks} callbacks for {mutated.Length} bytes");
            Assert.True(allocated < MaxAllocatedBytesPerCase, $"{name}, seed {seed}, case {cases}: {allocated} bytes allocated");
            if (reason is not null)
            {
                refused[reason] = refused.GetValueOrDefault(reason) + 1;
            }
        }

        output.WriteLine($"{cases} cases, {refused.Values.Sum()} refused");
        foreach (var (reason, count) in refused.OrderByDescending(r => r.Value).Take(12))
        {
            output.WriteLine($"  {count,6} {reason}");
        }

        Assert.True(cases > 100, $"only {cases} cases in {seconds} s");
    });

    /// <summary>
    /// Reads the bytes through a router (which drives a reader) in random chunks with a reconnect now and then.
    /// Returns the refusal's reason, or null when read; any other exception fails the test.
    /// </summary>
    private static string? Run(Random random, byte[] bytes, out long callbacks, out long allocated)
    {
        var counter = new CountingSink();
        var before = GC.GetAllocatedBytesForCurrentThread();
        string? reason = null;
        try
        {
            // The reader's own work, counted.
            var reader = new ContainerReader(counter);
            using var router = new MediaRouter(new NullFeed());
            var offset = 0;
            while (offset < bytes.Length)
            {
                var take = Math.Min(bytes.Length - offset, 1 + random.Next(random.Next(2) == 0 ? 64 : 65_536));
                reader.Push(bytes.AsSpan(offset, take));
                router.Commit(bytes.AsSpan(offset, take), offset);
                offset += take;
                if (random.Next(50) == 0)
                {
                    router.NewConnection();
                }
            }

            router.Flush();
        }
        catch (MediaFormatException ex)
        {
            reason = ex.Message;
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        callbacks = counter.Calls;
        return reason;
    }

    private static void Mutate(Random random, byte[] bytes, Field field)
    {
        var value = random.Next(4) == 0 ? (uint)random.NextInt64(0, 1L << 32) : Extremes[random.Next(Extremes.Length)];
        var at = field.Offset;
        switch (field.Width)
        {
            case 1:
                bytes[at] = field.Bits is { } bits ? (byte)((bytes[at] & ~bits) | (value & bits)) : (byte)value;
                break;
            case 4 when at + 4 <= bytes.Length:
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), value);
                break;
            default:
                break;
        }
    }

    /// <summary>The fields worth aiming at, found by reading the capture and by its box types.</summary>
    private static List<Field> Fields(byte[] bytes)
    {
        var sink = Captures.ReadWhole(bytes);
        var fields = new List<Field>();
        foreach (var (offset, field, _, _) in sink.FragmentFields)
        {
            switch (field)
            {
                case FragmentField.BlockTrackNumber:
                    fields.Add(new Field((int)offset, 1));
                    fields.Add(new Field((int)offset + 3, 1, Bits: 0x86)); // keyframe and lacing bits
                    fields.Add(new Field((int)offset - 1, 1)); // the last byte of the block's size
                    break;
                case FragmentField.DecodeTime64:
                    fields.Add(new Field((int)offset, 4));
                    fields.Add(new Field((int)offset + 4, 4));
                    fields.Add(new Field((int)offset - 4, 1)); // version
                    break;
                default:
                    fields.Add(new Field((int)offset, 4));
                    break;
            }
        }

        foreach (var (offset, length, _) in sink.ClusterTimestamps)
        {
            fields.Add(new Field((int)offset - 1, 1)); // the Timestamp's size
            fields.Add(new Field((int)offset, 1));
        }

        foreach (var (type, body) in new (string, int[])[] { ("trun", [0, 4, 8, 12]), ("tfhd", [0, 8, 12]), ("moof", [-4]), ("mdat", [-4]), ("traf", [-4]), ("trex", [8, 12, 16, 20]), ("mdhd", [12, 16]), ("stsd", [4]) })
        {
            for (var i = bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(type)); i >= 0;)
            {
                fields.AddRange(body.Select(b => new Field(i + 4 + b, 4)).Where(f => f.Offset >= 0 && f.Offset + 4 <= bytes.Length));
                var next = bytes.AsSpan(i + 4).IndexOf(System.Text.Encoding.ASCII.GetBytes(type));
                i = next < 0 ? -1 : i + 4 + next;
            }
        }

        return fields.Count > 0 ? fields : [new Field(0, 1)];
    }

    private readonly record struct Field(int Offset, int Width, uint? Bits = null);

    private sealed class NullFeed : IMediaFeed
    {
        public void Start(IReadOnlyList<TrackInfo> tracks, bool restartOfRecording)
        {
        }

        public void Feed(ReadOnlySpan<byte> data)
        {
        }
    }

    private sealed class CountingSink : IContainerSink
    {
        public long Calls { get; private set; }

        public void OnRecordingStart(long offset, ContainerKind kind) => Calls++;

        public void OnInitSegment(long start, long end, IReadOnlyList<TrackInfo> tracks) => Calls++;

        public void OnFragment(long offset, bool startsWithKeyframe, long timestampMs) => Calls++;

        public void OnClusterTimestamp(long payloadOffset, int payloadLength, long value) => Calls++;

        public void OnFragmentField(long offset, FragmentField field, long track, long value) => Calls++;

        public void OnFrame(long track, long timestampMs, bool keyframe) => Calls++;
    }
}

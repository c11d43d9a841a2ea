using System.Diagnostics;
using LiveStream.Media.Containers;
using Xunit.Abstractions;

namespace LiveStream.Grains.Tests.Media;

/// <summary>
/// Damaged captures (flipped bytes, truncations, insertions, corrupted size fields, splices) are either read or refused
/// with <see cref="MediaFormatException"/>: no other exception, no hang, and bounded memory.
/// </summary>
public sealed class ContainerReaderFuzzTests(ITestOutputHelper output)
{
    private const int CasesPerCapture = 500;

    // The reader may hold one buffered element of MaxHeaderBytes (1 MiB), reached by doubling: under 4 MiB in all.
    private const long MaxAllocatedBytesPerCase = 4 << 20;

    // Enough of each capture for its init and several fragments, so mutations land in headers as often as in frames.
    private const int PrefixBytes = 160_000;

    [Fact(Timeout = 60_000)]
    public Task Damaged_media_is_read_or_refused_with_MediaFormatException_only() => Task.Run(() =>
    {
        var stopwatch = Stopwatch.StartNew();
        var refused = 0;
        var read = 0;
        var reasons = new Dictionary<string, int>();
        foreach (var name in Captures.Names)
        {
            var original = Captures.Get(name).Bytes;
            var prefix = original.AsSpan(0, Math.Min(PrefixBytes, original.Length)).ToArray();
            var headers = HeaderOffsets(original);
            var random = new Random(Array.IndexOf(Captures.Names, name) * 7919);
            for (var i = 0; i < CasesPerCapture; i++)
            {
                var damaged = Damage(random, prefix, headers);
                var reason = ReadOrRefuse(damaged, random, out var allocated);

                Assert.True(allocated < MaxAllocatedBytesPerCase, $"{name} case {i}: {allocated} bytes allocated");
                if (reason is null)
                {
                    read++;
                }
                else
                {
                    refused++;
                    Assert.True(reason.Length is > 0 and < 100, $"{name} case {i}: reason '{reason}'");
                    reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                }
            }
        }

        output.WriteLine($"{read + refused} cases in {stopwatch.ElapsedMilliseconds} ms: {read} read, {refused} refused");
        foreach (var (reason, count) in reasons.OrderByDescending(r => r.Value).Take(15))
        {
            output.WriteLine($"  {count,5} {reason}");
        }

        Assert.True(refused > 0 && read > 0);
    });

    /// <summary>Reads the bytes in random pieces; null when read whole, else the refusal reason.</summary>
    private static string? ReadOrRefuse(byte[] bytes, Random random, out long allocated)
    {
        var sink = new NullSink();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var reader = new ContainerReader(sink);
        string? reason = null;
        var offset = 0;
        try
        {
            while (offset < bytes.Length)
            {
                var size = Math.Min(bytes.Length - offset, random.Next(3) == 0 ? random.Next(1, 8) : random.Next(1, 40_000));
                reader.Push(bytes.AsSpan(offset, size));
                offset += size;
            }
        }
        catch (MediaFormatException ex)
        {
            reason = ex.Message;
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (reason is null)
        {
            Assert.Equal(bytes.Length, reader.Position);
        }

        return reason;
    }

    private static byte[] Damage(Random random, byte[] prefix, List<int> headers)
    {
        var bytes = prefix.ToList();

        // Most damage goes near element and box headers, where size fields and IDs are.
        int Near() => Math.Clamp(random.Next(2) == 0 ? headers[random.Next(headers.Count)] + random.Next(-2, 14) : random.Next(bytes.Count), 0, bytes.Count - 1);

        for (var step = random.Next(1, 4); step > 0 && bytes.Count > 1; step--)
        {
            switch (random.Next(8))
            {
                case 0:
                    bytes[Near()] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[Near()] = (byte)random.Next(256);
                    break;
                case 2:
                    var cut = random.Next(1, bytes.Count);
                    bytes.RemoveRange(cut, bytes.Count - cut);
                    break;
                case 3:
                    var insert = new byte[random.Next(1, 16)];
                    random.NextBytes(insert);
                    bytes.InsertRange(Near(), insert);
                    break;
                case 4:
                    // A size field made huge, unknown, or zero.
                    var at = Near();
                    var value = random.Next(3) switch { 0 => (byte)0xFF, 1 => (byte)0x00, _ => (byte)0x01 };
                    for (var k = 0; k < random.Next(1, 8) && at + k < bytes.Count; k++)
                    {
                        bytes[at + k] = k == 0 ? value : (byte)0xFF;
                    }

                    break;
                case 5:
                    var start = random.Next(bytes.Count);
                    var length = Math.Min(random.Next(1, 2000), bytes.Count - start);
                    bytes.RemoveRange(start, length);
                    break;
                case 6:
                    // Another capture spliced in, from its start (a restart, maybe in the other format) or its middle.
                    var donor = Captures.Get(Captures.Names[random.Next(Captures.Names.Length)]).Bytes;
                    var donorStart = random.Next(2) == 0 ? 0 : random.Next(donor.Length);
                    var donorLength = Math.Min(random.Next(1, 20_000), donor.Length - donorStart);
                    bytes.InsertRange(Near(), donor.AsSpan(donorStart, donorLength).ToArray());
                    break;
                default:
                    // A resent or duplicated piece, as a reconnecting client might send.
                    var from = random.Next(bytes.Count);
                    var count = Math.Min(random.Next(1, 5000), bytes.Count - from);
                    bytes.InsertRange(Near(), bytes.GetRange(from, count));
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Where the original's fragments, cluster timestamps and frames are, as targets for damage.</summary>
    private static List<int> HeaderOffsets(byte[] bytes)
    {
        var sink = Captures.ReadWhole(bytes);
        var offsets = new List<int> { 0, (int)sink.Inits[0].End };
        offsets.AddRange(sink.Fragments.Select(f => (int)f.Offset));
        offsets.AddRange(sink.ClusterTimestamps.Select(t => (int)t.PayloadOffset - 2));
        offsets.AddRange(sink.Frames.Select(f => (int)f.Position - 8));
        return [.. offsets.Where(o => o >= 0 && o < PrefixBytes).Distinct()];
    }
}

using System.Security.Cryptography;
using System.Text.Json;

namespace LiveStream.Testing;

/// <summary>A real Chromium MediaRecorder capture from <c>test/media</c>, with its original chunk boundaries.</summary>
public sealed class MediaCapture
{
    private MediaCapture(string name, byte[] bytes, IReadOnlyList<int> chunkSizes, IReadOnlyList<double> chunkTimesMs, double durationMs, double? frameRate)
    {
        FrameRate = frameRate;
        Name = name;
        Bytes = bytes;
        ChunkSizes = chunkSizes;
        ChunkTimesMs = chunkTimesMs;
        DurationMs = durationMs;
    }

    public string Name { get; }

    public byte[] Bytes { get; }

    public IReadOnlyList<int> ChunkSizes { get; }

    public IReadOnlyList<double> ChunkTimesMs { get; }

    public double DurationMs { get; }

    /// <summary>The video track's frame rate as the recorder reported it (null for audio only).</summary>
    public double? FrameRate { get; }

    /// <summary>The capture's average bitrate: its bytes over its recorded length.</summary>
    public double BitsPerSecond => Bytes.Length * 8 / (DurationMs / 1000);

    public string Sha256 => Convert.ToHexString(SHA256.HashData(Bytes));

    /// <summary>The chunks as the browser delivered them (zero-byte ones included).</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Chunks()
    {
        var offset = 0;
        foreach (var size in ChunkSizes)
        {
            yield return Bytes.AsMemory(offset, size);
            offset += size;
        }
    }

    /// <summary>Loads <c>test/media/{name}</c>, e.g. <c>vp8-opus</c> or <c>vp8-opus-restart/a</c>.</summary>
    public static MediaCapture Load(string name)
    {
        var folder = Path.Combine(RepoPaths.Media, name);
        var file = Directory.GetFiles(folder, "stream.*").Single();
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "chunks.json")));
        var chunks = json.RootElement.GetProperty("chunks").EnumerateArray().ToList();
        var sizes = chunks.Select(c => c.GetProperty("bytes").GetInt32()).ToList();
        var times = chunks.Select(c => c.GetProperty("msSinceStart").GetDouble()).ToList();
        var bytes = File.ReadAllBytes(file);
        if (sizes.Sum() != bytes.Length)
        {
            throw new InvalidDataException($"{name}: chunks.json sizes add up to {sizes.Sum()}, the file has {bytes.Length} bytes.");
        }

        var frameRate = json.RootElement.TryGetProperty("frameRate", out var rate) && rate.ValueKind == JsonValueKind.Number ? rate.GetDouble() : (double?)null;
        return new MediaCapture(name, bytes, sizes, times, json.RootElement.GetProperty("durationMs").GetDouble(), frameRate);
    }
}

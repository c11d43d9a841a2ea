using System.Text.Json;
using System.Text.Json.Serialization;

namespace LiveStream.Gateway.Ingest;

/// <summary>Server → client <c>hello</c> of <c>livestream.v1</c>.</summary>
internal sealed record HelloMessage(string Type, string SessionId, long ResumeFrom, int ReconnectWindowSeconds, string? HlsUrl);

/// <summary>
/// Server → client <c>ack</c>: <c>{"type":"ack","offset":N}</c>, the first N bytes are committed. One per committed
/// chunk, so it is written into the connection's own buffer, not serialized into a new array each time.
/// </summary>
internal static class AckMessage
{
    private static ReadOnlySpan<byte> Start => """{"type":"ack","offset":"""u8;

    /// <summary>The longest ack: the start, a long's 20 characters, the closing brace.</summary>
    public static int MaxLength => Start.Length + 21;

    /// <summary>Writes the ack of <paramref name="offset"/> into <paramref name="destination"/>; returns its length.</summary>
    public static int Write(long offset, Span<byte> destination)
    {
        Start.CopyTo(destination);
        offset.TryFormat(destination[Start.Length..], out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
        destination[Start.Length + digits] = (byte)'}';
        return Start.Length + digits + 1;
    }
}

internal static class IngestJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace LiveStream.Gateway.Ingest;

/// <summary>Server → client <c>hello</c> of <c>livestream.v1</c>.</summary>
internal sealed record HelloMessage(string Type, string SessionId, long ResumeFrom, int ReconnectWindowSeconds, string? HlsUrl);

/// <summary>Server → client <c>ack</c>: the first <see cref="Offset"/> bytes are committed.</summary>
internal sealed record AckMessage(string Type, long Offset);

internal static class IngestJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

using System.Text.Json;
using LiveStream.Gateway.Ingest;

namespace LiveStream.Gateway.Tests;

/// <summary>The ack written into a connection's buffer is the protocol's JSON, for any offset up to the largest.</summary>
public sealed class AckMessageTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(62_500L)]
    [InlineData(long.MaxValue)]
    public void An_ack_is_the_json_object_of_its_offset(long offset)
    {
        var buffer = new byte[AckMessage.MaxLength];
        buffer.AsSpan().Fill((byte)'x');

        var length = AckMessage.Write(offset, buffer);

        using var json = JsonDocument.Parse(buffer.AsMemory(0, length));
        Assert.Equal("ack", json.RootElement.GetProperty("type").GetString());
        Assert.Equal(offset, json.RootElement.GetProperty("offset").GetInt64());
        Assert.Equal($$"""{"type":"ack","offset":{{offset}}}""", System.Text.Encoding.UTF8.GetString(buffer, 0, length));
    }
}

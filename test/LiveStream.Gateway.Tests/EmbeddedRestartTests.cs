using System.Net.Http.Json;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>The embedded default keeps streams and key hashes in files under its data folder.</summary>
public sealed class EmbeddedRestartTests : IDisposable
{
    private readonly string _dataPath = Directory.CreateTempSubdirectory("livestream-restart-").FullName;

    public void Dispose() => Directory.Delete(_dataPath, recursive: true);

    [Fact(Timeout = 120_000)]
    public async Task Streams_and_their_keys_survive_a_restart_and_no_key_is_stored_in_clear()
    {
        string id, key, rotatedAway;
        await using (var first = GatewayFactory.On(_dataPath))
        {
            using var api = first.CreateAdminClient();
            using var created = await api.PostAsJsonAsync("/api/streams", new { name = "kept", outputs = new[] { new { type = "archive" } } });
            var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
            (id, rotatedAway) = (body.GetProperty("id").GetString()!, body.GetProperty("streamKey").GetString()!);
            using var rotated = await api.PostAsync($"/api/streams/{id}/rotate-key", null);
            key = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync()).RootElement.GetProperty("streamKey").GetString()!;
        }

        foreach (var file in Directory.EnumerateFiles(Path.Combine(_dataPath, "state"), "*", SearchOption.AllDirectories))
        {
            var text = System.Text.Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file));
            Assert.DoesNotContain(key, text, StringComparison.Ordinal);
            Assert.DoesNotContain(rotatedAway, text, StringComparison.Ordinal);
        }

        await using var second = GatewayFactory.On(_dataPath);
        using var again = second.CreateAdminClient();
        var stream = JsonDocument.Parse(await again.GetStringAsync($"/api/streams/{id}")).RootElement;
        Assert.Equal("kept", stream.GetProperty("name").GetString());

        await using var publisher = await V1Publisher.ConnectAsync(cancellationToken =>
        {
            var client = second.Server.CreateWebSocketClient();
            client.SubProtocols.Add("livestream.v1");
            return client.ConnectAsync(new Uri(second.Server.BaseAddress, "/stream/live/" + key), cancellationToken);
        });
        Assert.StartsWith(id, publisher.SessionId, StringComparison.Ordinal);
        await publisher.EndAsync();
    }
}

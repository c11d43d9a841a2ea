using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class GatewayApiTests(GatewayFactory factory)
{
    [Fact(Timeout = 60_000)]
    public async Task Creating_a_stream_shows_its_key_once_and_never_again()
    {
        using var api = factory.CreateAdminClient();

        using var created = await api.PostAsJsonAsync("/api/streams", new { name = "show", outputs = new[] { new { type = "rtmp", url = "rtmps://live.example.com/app/platform-secret" } } });
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var key = body.GetProperty("streamKey").GetString()!;
        var id = body.GetProperty("id").GetString()!;

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/api/streams/{id}", created.Headers.Location?.ToString());
        Assert.EndsWith("/stream/live/" + key, body.GetProperty("ingestUrl").GetString(), StringComparison.Ordinal);
        Assert.Equal("idle", body.GetProperty("state").GetString());
        var again = await api.GetStringAsync($"/api/streams/{id}");
        var list = await api.GetStringAsync("/api/streams");
        Assert.DoesNotContain(key, again, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list, StringComparison.Ordinal);
        Assert.DoesNotContain("platform-secret", again, StringComparison.Ordinal);
        Assert.Contains("rtmps://live.example.com/app/[redacted]", again, StringComparison.Ordinal);
        Assert.DoesNotContain("streamKey", again, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_stream_without_outputs_gets_hls()
    {
        using var api = factory.CreateAdminClient();

        using var created = await api.PostAsync("/api/streams", null);
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("hls", body.GetProperty("outputs")[0].GetProperty("type").GetString());
    }

    [Theory(Timeout = 60_000)]
    [InlineData("""{"outputs":[{"type":"rtmp","url":"file:///etc/passwd"}]}""")]
    [InlineData("""{"outputs":[{"type":"shell"}]}""")]
    [InlineData("""{"reconnectWindowSeconds":1801}""")]
    [InlineData("""{"duplicatePolicy":"7"}""")]
    public async Task Invalid_stream_definitions_get_400(string json)
    {
        using var api = factory.CreateAdminClient();

        using var response = await api.PostAsync("/api/streams", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("/api/streams/st00000000000000000000")]
    [InlineData("/api/streams/not-an-id")]
    [InlineData("/api/sessions/st00000000000000000000-aaaaaaaaaaaa")]
    [InlineData("/api/sessions/junk")]
    [InlineData("/api/sessions/junk/archive")]
    public async Task Unknown_resources_get_404(string path)
    {
        using var api = factory.CreateAdminClient();

        using var response = await api.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_wrong_admin_token_gets_401()
    {
        using var api = factory.CreateClient();
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFactory.AdminToken + "x");

        using var response = await api.GetAsync("/api/streams");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Health_endpoints_answer()
    {
        using var http = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        await Eventually.ReturnsAsync(
            async () =>
            {
                using var ready = await http.GetAsync("/health/ready");
                return ready.IsSuccessStatusCode;
            },
            ok => ok,
            TimeSpan.FromSeconds(30),
            "ready");
    }

    [Fact(Timeout = 60_000)]
    public async Task The_ingest_path_key_never_reaches_an_exported_span()
    {
        using var api = factory.CreateAdminClient();
        using var created = await api.PostAsJsonAsync("/api/streams", new { outputs = new[] { new { type = "null" } } });
        var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("streamKey").GetString()!;
        var client = factory.Server.CreateWebSocketClient();

        using (var socket = await client.ConnectAsync(new Uri(factory.Server.BaseAddress, "/stream/live/" + key), CancellationToken.None))
        {
            await socket.SendAsync(new byte[64], WebSocketMessageType.Binary, true, CancellationToken.None);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        await Eventually.HoldsAsync(
            () => factory.ExportedSpans.Any(s => s.OperationName == "ingest.connection"),
            TimeSpan.FromSeconds(30),
            "the ingest span to be exported");
        var spans = factory.ExportedSpans.ToList();
        Assert.Contains(spans, s => s.DisplayName.Contains("/stream/live/[redacted]", StringComparison.Ordinal)
            || s.TagObjects.Any(t => t.Value is string v && v.Contains("/stream/live/[redacted]", StringComparison.Ordinal)));
        foreach (var span in spans)
        {
            Assert.DoesNotContain(key, span.DisplayName, StringComparison.Ordinal);
            Assert.DoesNotContain(span.TagObjects, t => t.Value is string v && v.Contains(key, StringComparison.Ordinal));
        }
    }
}

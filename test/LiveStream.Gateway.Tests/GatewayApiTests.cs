using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using LiveStream.Gateway.Ingest;
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
            () => factory.ExportedSpans.Any(s => s.OperationName == IngestEndpoint.ConnectionActivityName),
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

    [Fact(Timeout = 60_000)]
    public async Task An_ingest_connection_is_one_span_whose_trace_holds_its_grain_calls_with_no_key_anywhere()
    {
        using var api = factory.CreateAdminClient();
        using var created = await api.PostAsJsonAsync("/api/streams", new { outputs = new[] { new { type = "null" } } });
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var key = body.GetProperty("streamKey").GetString()!;
        var streamId = body.GetProperty("id").GetString()!;
        var client = factory.Server.CreateWebSocketClient();

        using (var socket = await client.ConnectAsync(new Uri(factory.Server.BaseAddress, "/stream/live/" + key), CancellationToken.None))
        {
            for (var i = 0; i < 3; i++)
            {
                await socket.SendAsync(new byte[1000], WebSocketMessageType.Binary, true, CancellationToken.None);
            }

            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        var connection = await Eventually.ReturnsAsync(
            () => Task.FromResult(factory.ExportedSpans.FirstOrDefault(s => s.OperationName == IngestEndpoint.ConnectionActivityName && Equals(s.GetTagItem("livestream.stream_id"), streamId))),
            span => span is not null,
            TimeSpan.FromSeconds(30),
            "the connection span to be exported");
        var sessionId = Assert.IsType<string>(connection!.GetTagItem("livestream.session_id"));
        Assert.StartsWith(streamId, sessionId, StringComparison.Ordinal);
        Assert.Equal(1, connection.GetTagItem("livestream.epoch"));
        Assert.Equal(1000, connection.GetTagItem("livestream.close_code"));

        // Orleans' activity propagation: the grain calls made for the connection are in its trace, on both sides
        // (the caller's client span and the grain's server span).
        await Eventually.HoldsAsync(
            () => GrainCalls(connection, "DisconnectAsync").Count >= 2,
            TimeSpan.FromSeconds(30),
            "the disconnect call's spans to be exported");
        Assert.True(GrainCalls(connection, "ConnectAsync").Count >= 2, "the connect call is in the connection's trace");
        // Three chunks sent back to back may share a grain call (messages that arrive during a call go together).
        Assert.True(GrainCalls(connection, "WriteAsync").Count >= 2, "the chunk writes are in the connection's trace");
        Assert.Contains(GrainCalls(connection, "WriteAsync"), s => s.ParentSpanId == connection.SpanId);

        foreach (var span in factory.ExportedSpans.ToList())
        {
            Assert.DoesNotContain(key, span.DisplayName, StringComparison.Ordinal);
            Assert.DoesNotContain(span.TagObjects, t => t.Value is string v && v.Contains(key, StringComparison.Ordinal));
            Assert.DoesNotContain(span.Events.SelectMany(e => e.Tags), t => t.Value is string v && v.Contains(key, StringComparison.Ordinal));
            Assert.DoesNotContain(span.Baggage, b => b.Value?.Contains(key, StringComparison.Ordinal) == true);
        }
    }

    private List<System.Diagnostics.Activity> GrainCalls(System.Diagnostics.Activity connection, string method) =>
        [.. factory.ExportedSpans.Where(s => s.TraceId == connection.TraceId
            && s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)
            && (Equals(s.GetTagItem("rpc.method"), method) || s.DisplayName.EndsWith("/" + method, StringComparison.Ordinal)))];
}

using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>The control plane on the embedded default: update, key rotation, revocation and the operator's stop.</summary>
[Collection(GatewayCollection.Name)]
public sealed class StreamLifecycleApiTests(GatewayFactory factory)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task An_update_changes_only_the_fields_it_names()
    {
        using var api = factory.CreateAdminClient();
        var (id, _) = await CreateAsync(api);

        using var patched = await api.PatchAsJsonAsync($"/api/streams/{id}", new
        {
            name = "renamed",
            outputs = new object[] { new { type = "rtmp", url = "rtmp://live.example.com/app/secret-one" }, new { type = "archive" } },
            reconnectWindowSeconds = 90,
        });

        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var stream = JsonDocument.Parse(await api.GetStringAsync($"/api/streams/{id}")).RootElement;
        Assert.Equal("renamed", stream.GetProperty("name").GetString());
        Assert.Equal(90, stream.GetProperty("reconnectWindowSeconds").GetInt32());
        Assert.Equal("takeover", stream.GetProperty("duplicatePolicy").GetString());
        Assert.Equal("rtmp://live.example.com/app/[redacted]", stream.GetProperty("outputs")[0].GetProperty("url").GetString());
        Assert.DoesNotContain("secret-one", await patched.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var policy = await api.PatchAsJsonAsync($"/api/streams/{id}", new { duplicatePolicy = "reject" });
        stream = JsonDocument.Parse(await policy.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(("renamed", 90, "reject", 2), (stream.GetProperty("name").GetString(), stream.GetProperty("reconnectWindowSeconds").GetInt32(), stream.GetProperty("duplicatePolicy").GetString(), stream.GetProperty("outputs").GetArrayLength()));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("""{"outputs":[{"type":"rtmp","url":"concat:a|b"}]}""")]
    [InlineData("""{"reconnectWindowSeconds":-1}""")]
    [InlineData("""{"duplicatePolicy":"maybe"}""")]
    public async Task An_invalid_update_gets_400_and_changes_nothing(string json)
    {
        using var api = factory.CreateAdminClient();
        var (id, _) = await CreateAsync(api);
        var before = await api.GetStringAsync($"/api/streams/{id}");

        using var response = await api.PatchAsync($"/api/streams/{id}", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, await api.GetStringAsync($"/api/streams/{id}"));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("PATCH", "/api/streams/st00000000000000000000")]
    [InlineData("DELETE", "/api/streams/st00000000000000000000")]
    [InlineData("POST", "/api/streams/st00000000000000000000/rotate-key")]
    [InlineData("POST", "/api/sessions/st00000000000000000000-aaaaaaaaaaaa/stop")]
    [InlineData("POST", "/api/sessions/junk/stop")]
    public async Task Control_calls_on_unknown_resources_get_404(string method, string path)
    {
        using var api = factory.CreateAdminClient();

        using var response = await api.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(new { }) });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_rotated_away_key_is_cut_off_at_once_for_reconnects_and_takeovers_while_the_connected_publisher_goes_on()
    {
        using var api = factory.CreateAdminClient();
        var (id, oldKey) = await CreateAsync(api);
        var first = await ConnectAsync(oldKey);
        await first.SendAsync(0, new byte[1000]);
        await first.WaitForAckAsync(1000, Wait);

        using var rotated = await api.PostAsync($"/api/streams/{id}/rotate-key", null);
        var newKey = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync()).RootElement.GetProperty("streamKey").GetString()!;

        // The leaked key can neither take the live session over nor resume it; the connected publisher is not cut.
        Assert.Equal(4401, await factory.RefusalAsync(oldKey));
        await first.SendAsync(1000, new byte[500]);
        await first.WaitForAckAsync(1500, Wait);
        first.Abort();
        await first.DisposeAsync();
        Assert.Equal(4401, await factory.RefusalAsync(oldKey));

        // The new key resumes the same session where it was.
        await using var back = await ConnectAsync(newKey);
        Assert.Equal((first.SessionId, 1500L), (back.SessionId, back.ResumeFrom));
        await back.EndAsync();
    }

    [Fact(Timeout = 90_000)]
    public async Task With_keepLiveSession_the_old_key_only_reconnects_to_the_session_that_was_live()
    {
        using var api = factory.CreateAdminClient();
        var (id, oldKey) = await CreateAsync(api);
        var first = await ConnectAsync(oldKey);
        await first.SendAsync(0, new byte[1000]);
        await first.WaitForAckAsync(1000, Wait);

        using var rotated = await api.PostAsync($"/api/streams/{id}/rotate-key?keepLiveSession=true", null);
        var body = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync()).RootElement;
        var newKey = body.GetProperty("streamKey").GetString()!;
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        Assert.NotEqual(oldKey, newKey);
        Assert.EndsWith("/stream/live/" + newKey, body.GetProperty("ingestUrl").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(newKey, await api.GetStringAsync($"/api/streams/{id}"), StringComparison.Ordinal);

        // The publisher live at rotation drops and comes back with the key it has: same session, where it was.
        first.Abort();
        await first.DisposeAsync();
        await using var back = await ConnectAsync(oldKey);
        Assert.Equal(first.SessionId, back.SessionId);
        Assert.Equal(1000, back.ResumeFrom);
        await back.SendAsync(1000, new byte[500]);
        await back.WaitForAckAsync(1500, Wait);

        // The new key takes the session over too; once it ends, the old key leads nowhere.
        await using var next = await ConnectAsync(newKey);
        Assert.Equal(first.SessionId, next.SessionId);
        Assert.Equal(4409, await CloseCodeAsync(back));
        await next.EndAsync();
        await next.ServerClose.WaitAsync(Wait);

        Assert.Equal(4401, await factory.RefusalAsync(oldKey));
        await using var fresh = await ConnectAsync(newKey);
        Assert.NotEqual(first.SessionId, fresh.SessionId);
        await fresh.EndAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_key_rotated_while_no_session_is_live_stops_working_at_once()
    {
        using var api = factory.CreateAdminClient();
        var (id, oldKey) = await CreateAsync(api);

        using var rotated = await api.PostAsync($"/api/streams/{id}/rotate-key", null);
        var newKey = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync()).RootElement.GetProperty("streamKey").GetString()!;

        Assert.Equal(4401, await factory.RefusalAsync(oldKey));
        await using var publisher = await ConnectAsync(newKey);
        await publisher.EndAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Deleting_a_stream_closes_its_live_publisher_with_4410_and_revokes_its_key()
    {
        using var api = factory.CreateAdminClient();
        var (id, key) = await CreateAsync(api);
        var (_, otherKey) = await CreateAsync(api);
        await using var publisher = await ConnectAsync(key);
        await using var other = await ConnectAsync(otherKey);
        await publisher.SendAsync(0, new byte[100]);
        await publisher.WaitForAckAsync(100, Wait);

        using var deleted = await api.DeleteAsync($"/api/streams/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(4410, await CloseCodeAsync(publisher));
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/streams/{id}")).StatusCode);
        Assert.DoesNotContain(id, await api.GetStringAsync("/api/streams"), StringComparison.Ordinal);
        Assert.Equal(4401, await factory.RefusalAsync(key));

        // Another stream's publisher is not disturbed.
        await other.SendAsync(0, new byte[100]);
        await other.WaitForAckAsync(100, Wait);
        Assert.False(other.ServerClose.IsCompleted);
        await other.EndAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task The_operator_stop_ends_the_live_session_with_4410_and_the_key_still_starts_a_new_one()
    {
        using var api = factory.CreateAdminClient();
        var (_, key) = await CreateAsync(api);
        await using var publisher = await ConnectAsync(key);
        await publisher.SendAsync(0, new byte[100]);
        await publisher.WaitForAckAsync(100, Wait);

        using var stopped = await api.PostAsync($"/api/sessions/{publisher.SessionId}/stop", null);
        var session = JsonDocument.Parse(await stopped.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.Equal("ended", session.GetProperty("state").GetString());
        Assert.Equal("stopped by the operator", session.GetProperty("endReason").GetString());
        Assert.Equal(4410, await CloseCodeAsync(publisher));
        using var again = await api.PostAsync($"/api/sessions/{publisher.SessionId}/stop", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        await using var next = await ConnectAsync(key);
        Assert.NotEqual(publisher.SessionId, next.SessionId);
        await next.EndAsync();
    }

    private static async Task<(string Id, string Key)> CreateAsync(HttpClient api)
    {
        using var created = await api.PostAsJsonAsync("/api/streams", new { outputs = new[] { new { type = "archive" } } });
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        return (body.GetProperty("id").GetString()!, body.GetProperty("streamKey").GetString()!);
    }

    private Task<V1Publisher> ConnectAsync(string key) => V1Publisher.ConnectAsync(cancellationToken =>
    {
        var client = factory.Server.CreateWebSocketClient();
        client.SubProtocols.Add("livestream.v1");
        return client.ConnectAsync(factory.IngestUri(key), cancellationToken);
    });

    private static async Task<int> CloseCodeAsync(V1Publisher publisher)
    {
        var close = await publisher.ServerClose.WaitAsync(Wait);
        Assert.NotNull(close);
        return (int)close.CloseStatus!.Value;
    }
}

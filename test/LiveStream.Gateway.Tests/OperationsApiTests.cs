using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary><c>GET /api/sessions</c> (live sessions across the cluster) and <c>GET /api/cluster</c> on the embedded default.</summary>
[Collection(GatewayCollection.Name)]
public sealed class OperationsApiTests(GatewayFactory factory)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory(Timeout = 60_000)]
    [InlineData("/api/sessions")]
    [InlineData("/api/sessions?state=active")]
    [InlineData("/api/cluster")]
    public async Task The_operations_endpoints_refuse_a_missing_or_wrong_token_with_401(string path)
    {
        using var anonymous = factory.CreateClient();
        using var wrong = factory.CreateClient();
        wrong.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFactory.AdminToken + "x");

        using var missing = await anonymous.GetAsync(path);
        using var refused = await wrong.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_live_session_is_listed_under_its_state_with_its_stream_name_and_silo_until_it_ends()
    {
        using var api = factory.CreateAdminClient();
        var (streamId, key) = await CreateAsync(api, "ops listing");
        await using var publisher = await ConnectAsync(key);
        await publisher.SendAsync(0, new byte[1000]);
        await publisher.WaitForAckAsync(1000, Wait);
        var sessionId = publisher.SessionId;

        var live = await ListAsync(api, "/api/sessions");
        var listed = Find(live, sessionId) ?? throw new Xunit.Sdk.XunitException($"{sessionId} not listed: {live}");
        Assert.Equal("live", live.GetProperty("state").GetString());
        Assert.Equal("active", listed.GetProperty("state").GetString());
        Assert.Equal(streamId, listed.GetProperty("streamId").GetString());
        Assert.Equal(1000, listed.GetProperty("bytesIngested").GetInt64());
        Assert.False(string.IsNullOrEmpty(listed.GetProperty("silo").GetString()));
        Assert.Equal("ops listing", live.GetProperty("streamNames").GetProperty(streamId).GetString());
        Assert.NotNull(Find(await ListAsync(api, "/api/sessions?state=active"), sessionId));
        Assert.Null(Find(await ListAsync(api, "/api/sessions?state=disconnected"), sessionId));
        Assert.DoesNotContain(key, live.ToString(), StringComparison.Ordinal);

        // The publisher is lost: the session waits in its reconnect window and is listed as disconnected.
        publisher.Abort();
        await Eventually.ReturnsAsync(() => ListAsync(api, "/api/sessions?state=disconnected"), l => Find(l, sessionId) is not null, Wait, "the session listed as disconnected");
        Assert.Null(Find(await ListAsync(api, "/api/sessions?state=active"), sessionId));
        Assert.NotNull(Find(await ListAsync(api, "/api/sessions?state=live"), sessionId));

        using var stopped = await api.PostAsync($"/api/sessions/{sessionId}/stop", null);
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.Null(Find(await ListAsync(api, "/api/sessions"), sessionId));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("ended")]
    [InlineData("failed")]
    [InlineData("everything")]
    public async Task A_state_filter_other_than_active_disconnected_or_live_gets_400(string state)
    {
        using var api = factory.CreateAdminClient();

        using var response = await api.GetAsync($"/api/sessions?state={state}");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("active, disconnected or live", body.GetProperty("errors").GetProperty("state")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 90_000)]
    public async Task The_cluster_lists_the_active_silo_with_the_live_sessions_it_runs()
    {
        using var api = factory.CreateAdminClient();
        var (_, key) = await CreateAsync(api, "ops cluster");
        await using var publisher = await ConnectAsync(key);
        await publisher.SendAsync(0, new byte[500]);
        await publisher.WaitForAckAsync(500, Wait);
        var silo = Find(await ListAsync(api, "/api/sessions"), publisher.SessionId)!.Value.GetProperty("silo").GetString();

        var cluster = JsonDocument.Parse(await api.GetStringAsync("/api/cluster")).RootElement;
        var sessions = await ListAsync(api, "/api/sessions");

        var member = Assert.Single(cluster.GetProperty("members").EnumerateArray(), m => m.GetProperty("status").GetString() == "active");
        Assert.Equal(silo, member.GetProperty("address").GetString());
        Assert.False(string.IsNullOrEmpty(member.GetProperty("hostName").GetString()));
        Assert.True(member.GetProperty("startedAt").GetDateTimeOffset() <= DateTimeOffset.UtcNow);
        var onSilo = sessions.GetProperty("sessions").EnumerateArray().Count(s => s.GetProperty("silo").GetString() == silo);
        Assert.True(onSilo >= 1);
        Assert.Equal(onSilo, member.GetProperty("liveSessions").GetInt32());
        Assert.Equal(sessions.GetProperty("sessions").GetArrayLength(), cluster.GetProperty("liveSessions").GetInt32());

        await publisher.EndAsync();
        await Eventually.ReturnsAsync(() => ListAsync(api, "/api/sessions"), l => Find(l, publisher.SessionId) is null, Wait, "the ended session to leave the list");
    }

    private static async Task<JsonElement> ListAsync(HttpClient api, string path)
    {
        using var response = await api.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static JsonElement? Find(JsonElement list, string sessionId) =>
        list.GetProperty("sessions").EnumerateArray().Where(s => s.GetProperty("id").GetString() == sessionId).Select(s => (JsonElement?)s).FirstOrDefault();

    private static async Task<(string Id, string Key)> CreateAsync(HttpClient api, string name)
    {
        using var created = await api.PostAsJsonAsync("/api/streams", new { name, outputs = new[] { new { type = "null" } }, reconnectWindowSeconds = 60 });
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        return (body.GetProperty("id").GetString()!, body.GetProperty("streamKey").GetString()!);
    }

    private Task<V1Publisher> ConnectAsync(string key) => V1Publisher.ConnectAsync(cancellationToken =>
    {
        var client = factory.Server.CreateWebSocketClient();
        client.SubProtocols.Add("livestream.v1");
        return client.ConnectAsync(new Uri(factory.Server.BaseAddress, "/stream/live/" + key), cancellationToken);
    });
}

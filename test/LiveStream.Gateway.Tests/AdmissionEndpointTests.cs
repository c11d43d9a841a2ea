using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using LiveStream.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace LiveStream.Gateway.Tests;

/// <summary>Admission by cost at the ingest endpoint: the embedded default with a capacity of 4 units and real FFmpeg.</summary>
public sealed class AdmissionEndpointTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly GatewayFactory _base = new();
    private WebApplicationFactory<Program> _factory = null!;

    public Task InitializeAsync()
    {
        _factory = _base.WithWebHostBuilder(b => b.UseSetting("LiveStream:Admission:CapacityUnits", "4"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _base.DisposeAsync();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_full_silo_closes_a_new_publisher_with_4503_and_the_live_session_goes_on()
    {
        using var api = _factory.CreateClient();
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFactory.AdminToken);
        var live = await CreateAsync(api, "hls");
        var waiting = await CreateAsync(api, "hls");
        var archiveOnly = await CreateAsync(api, "archive");

        // A VP8 720p re-encode costs the whole capacity.
        var capture = MediaCapture.Load("vp8-opus");
        await using var publisher = await ConnectAsync(live.Key);
        var half = capture.ChunkSizes.Take(capture.ChunkSizes.Count() / 2).Sum();
        await publisher.SendRangeAsync(capture.Bytes, 0, half, 64 * 1024);
        await publisher.WaitForAckAsync(half, Wait);

        var (code, reason) = await RefusalAsync(waiting.Key);
        Assert.Equal((4503, "cluster at capacity; retry later"), (code, reason));

        // Outputs without FFmpeg cost nothing; the live session never noticed.
        await using (var archive = await ConnectAsync(archiveOnly.Key))
        {
            await archive.EndAsync();
        }

        await publisher.SendRangeAsync(capture.Bytes, half, capture.Bytes.Length, 64 * 1024);
        await publisher.WaitForAckAsync(capture.Bytes.Length, Wait);
        Assert.False(publisher.ServerClose.IsCompleted);
        await publisher.EndAsync();

        // Its units are free again once it ended.
        await using var next = await Eventually.ReturnsAsync(
            async () => await TryConnectAsync(waiting.Key),
            p => p is not null,
            Wait,
            "the waiting stream to be admitted");
        await next!.EndAsync();
    }

    private static async Task<(string Id, string Key)> CreateAsync(HttpClient api, string output)
    {
        using var created = await api.PostAsJsonAsync("/api/streams", new { outputs = new[] { new { type = output } } });
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        return (body.GetProperty("id").GetString()!, body.GetProperty("streamKey").GetString()!);
    }

    private Task<V1Publisher> ConnectAsync(string key) => V1Publisher.ConnectAsync(cancellationToken =>
    {
        var client = _factory.Server.CreateWebSocketClient();
        client.SubProtocols.Add("livestream.v1");
        return client.ConnectAsync(IngestUri(key), cancellationToken);
    });

    private async Task<V1Publisher?> TryConnectAsync(string key)
    {
        try
        {
            return await ConnectAsync(key);
        }
        catch (PublisherRefusedException)
        {
            return null;
        }
    }

    private async Task<(int Code, string? Reason)> RefusalAsync(string key)
    {
        using var socket = await _factory.Server.CreateWebSocketClient().ConnectAsync(IngestUri(key), CancellationToken.None);
        using var timeout = new CancellationTokenSource(Wait);
        var result = await socket.ReceiveAsync(new byte[256], timeout.Token);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        return ((int)result.CloseStatus!.Value, result.CloseStatusDescription);
    }

    private Uri IngestUri(string key) => new(_factory.Server.BaseAddress, "/stream/live/" + Uri.EscapeDataString(key));
}

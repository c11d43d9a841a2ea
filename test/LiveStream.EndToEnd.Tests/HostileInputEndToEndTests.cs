using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using LiveStream.Testing;

namespace LiveStream.EndToEnd.Tests;

/// <summary>
/// Hostile input against a gateway of its own (real processes, shared silo): each row gets its exact refusal, while
/// a bystander session on the other gateway keeps streaming through its one FFmpeg and no FFmpeg is left without
/// a live session. The gateway believes X-Forwarded-For from loopback, so each row comes from an address of its own.
/// </summary>
[Collection(ProcessCluster.Name)]
public sealed class HostileInputEndToEndTests(LiveStreamProcesses cluster) : IAsyncLifetime
{
    private const string AllowedOrigin = "https://studio.example.com";
    private const long MaxBitsPerSecond = 8_000_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    // One hostile gateway and one bystander for every row (a theory makes an instance per row); the gateway is
    // started through the cluster fixture, which stops it with the rest.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<LiveStreamProcesses, Task<Shared>> ByCluster = [];
    private static int _nextAddress;
    private Shared _shared = null!;

    private Uri Gateway => _shared.Gateway;

    public async Task InitializeAsync() => _shared = await ByCluster.GetValue(cluster, StartAsync);

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<Shared> StartAsync(LiveStreamProcesses cluster)
    {
        var (_, gateway) = await cluster.StartExtraGatewayAsync(
            "hostile-gateway",
            $"--LiveStream:Ingest:AllowedOrigins:0={AllowedOrigin}",
            "--LiveStream:Ingest:TrustedProxies:0=127.0.0.1",
            "--LiveStream:Ingest:ConnectionsPerWindow=20",
            "--LiveStream:Ingest:IdleTimeout=00:00:02",
            $"--LiveStream:Ingest:MaxBitsPerSecond={MaxBitsPerSecond}",
            "--LiveStream:Ingest:HandshakeTimeout=00:00:02");

        // The bystander: a live session with a real FFmpeg (HLS) on the fixture's own gateway.
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls", record = true } } });
        var shared = new Shared(gateway, await V1Publisher.ConnectAsync(stream.IngestUrl), MediaCapture.Load("audio-only-opus").Chunks().ToList());
        for (var i = 0; i < 6; i++)
        {
            await shared.SendNextAsync();
        }

        var session = await Eventually.ReturnsAsync(
            () => cluster.GetJsonAsync($"/api/sessions/{shared.Bystander.SessionId}"),
            s => s.GetProperty("ffmpeg").GetProperty("pid").ValueKind == JsonValueKind.Number,
            Wait,
            "the bystander's FFmpeg");
        shared.BystanderPid = session.GetProperty("ffmpeg").GetProperty("pid").GetInt32();
        return shared;
    }

    [Theory(Timeout = 180_000)]
    [InlineData("unknown key")]
    [InlineData("revoked key")]
    [InlineData("rotated-away key")]
    [InlineData("path trick: encoded slash")]
    [InlineData("path trick: traversal")]
    [InlineData("over-long key")]
    [InlineData("disallowed origin")]
    [InlineData("connection flood from one address")]
    [InlineData("text frame in raw mode")]
    [InlineData("100 MB message")]
    [InlineData("bitrate far over the limit")]
    [InlineData("idle socket")]
    [InlineData("slow handshake")]
    [InlineData("garbage bytes as media")]
    [InlineData("output file:/etc/passwd")]
    [InlineData("output concat:")]
    [InlineData("output pipe:1")]
    [InlineData("output http://")]
    [InlineData("output local path")]
    [InlineData("output with an option")]
    [InlineData("admin call without a token")]
    [InlineData("admin call with a wrong token")]
    public async Task Hostile_input_gets_its_exact_refusal_and_disturbs_nothing_else(string row)
    {
        await (row switch
        {
            "unknown key" => ExpectCloseAsync(await RawAsync("lsk_" + new string('A', 43)), 4401),
            "revoked key" => RevokedKeyAsync(),
            "rotated-away key" => RotatedAwayKeyAsync(),
            "path trick: encoded slash" => ExpectCloseAsync(await RawAsync("..%2F..%2Fetc%2Fpasswd", escape: false), 4401),
            "path trick: traversal" => ExpectCloseAsync(await RawAsync("%2E%2E%2F%2E%2E%2Fapi%2Fstreams", escape: false), 4401),
            "over-long key" => ExpectCloseAsync(await RawAsync(new string('k', 5000)), 4401),
            "disallowed origin" => DisallowedOriginAsync(),
            "connection flood from one address" => FloodAsync(),
            "text frame in raw mode" => TextFrameAsync(),
            "100 MB message" => HugeMessageAsync(),
            "bitrate far over the limit" => BitrateAsync(),
            "idle socket" => IdleAsync(),
            "slow handshake" => SlowHandshakeAsync(),
            "garbage bytes as media" => GarbageMediaAsync(),
            "output file:/etc/passwd" => ExpectOutputRefusedAsync("file:/etc/passwd"),
            "output concat:" => ExpectOutputRefusedAsync("concat:/tmp/a.flv|/tmp/b.flv"),
            "output pipe:1" => ExpectOutputRefusedAsync("pipe:1"),
            "output http://" => ExpectOutputRefusedAsync("http://evil.example.com/x.flv"),
            "output local path" => ExpectOutputRefusedAsync("/tmp/x.flv"),
            "output with an option" => ExpectOutputRefusedAsync("rtmp://host/app/key -f null"),
            "admin call without a token" => ExpectAdminRefusedAsync(null),
            "admin call with a wrong token" => ExpectAdminRefusedAsync(cluster.AdminToken + "x"),
            _ => throw new ArgumentOutOfRangeException(nameof(row), row, "no such row"),
        });

        await AssertBystanderUndisturbedAsync();
        await AssertNoOrphanFfmpegAsync();
    }

    private async Task RevokedKeyAsync()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        using (await cluster.Api.DeleteAsync($"/api/streams/{stream.Id}"))
        {
        }

        await ExpectCloseAsync(await RawAsync(stream.Key), 4401);
    }

    private async Task RotatedAwayKeyAsync()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        using (await cluster.Api.PostAsync($"/api/streams/{stream.Id}/rotate-key", null))
        {
        }

        await ExpectCloseAsync(await RawAsync(stream.Key), 4401);
    }

    private async Task DisallowedOriginAsync()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        await ExpectCloseAsync(await RawAsync(stream.Key, origin: "https://evil.example.com"), 4403);

        // The allowed origin publishes: the refusal was about the origin, not the key.
        using var allowed = await RawAsync(stream.Key, origin: AllowedOrigin);
        await allowed.SendAsync(new byte[10], WebSocketMessageType.Binary, true, CancellationToken.None);
        await allowed.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, allowed.CloseStatus);
    }

    private async Task FloodAsync()
    {
        var address = NextAddress();
        for (var i = 0; i < 20; i++)
        {
            await ExpectCloseAsync(await RawAsync("lsk_flood", address: address), 4401);
        }

        using var refused = new ClientWebSocket();
        refused.Options.CollectHttpResponseDetails = true;
        refused.Options.SetRequestHeader("X-Forwarded-For", address);
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(IngestUri("lsk_flood"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.HttpStatusCode);

        // Another address is not affected.
        await ExpectCloseAsync(await RawAsync("lsk_flood"), 4401);
    }

    private async Task TextFrameAsync()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        using var socket = await RawAsync(stream.Key);
        await socket.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        await ExpectCloseAsync(socket, 4400);
    }

    private async Task HugeMessageAsync()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        using var socket = await RawAsync(stream.Key);
        var piece = new byte[1024 * 1024];
        try
        {
            // One 100 MB message, sent in fragments; the gateway gives up after its limit.
            for (var sent = 0; sent < 100; sent++)
            {
                await socket.SendAsync(piece, WebSocketMessageType.Binary, endOfMessage: sent == 99, CancellationToken.None);
            }
        }
        catch (WebSocketException)
        {
            // The server closed while we were still sending.
        }

        await ExpectCloseAsync(socket, 1009);
    }

    private async Task BitrateAsync()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        using var socket = await RawAsync(stream.Key);
        var chunk = new byte[256 * 1024];
        var limit = MaxBitsPerSecond / 8 * 10;
        try
        {
            // Four times what the limit allows in its 10 s window, as fast as loopback goes.
            for (long sent = 0; sent < 4 * limit && socket.State == WebSocketState.Open; sent += chunk.Length)
            {
                await socket.SendAsync(chunk, WebSocketMessageType.Binary, true, CancellationToken.None);
            }
        }
        catch (WebSocketException)
        {
        }

        await ExpectCloseAsync(socket, 4429);
    }

    private async Task IdleAsync()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "null" } } });
        var publisher = await V1Publisher.ConnectAsync(Ws(stream));
        await publisher.SendAsync(0, new byte[100]);
        await publisher.WaitForAckAsync(100, Wait);

        var close = await publisher.ServerClose.WaitAsync(Wait);

        Assert.Equal(4408, (int)close!.CloseStatus!.Value);
        await cluster.WaitForSessionStateAsync(publisher.SessionId, "disconnected");
        await publisher.DisposeAsync();
    }

    private async Task SlowHandshakeAsync()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Gateway.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /stream/live/lsk_slow HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: web"));

        // The rest of the headers never comes: Kestrel's header timeout closes the connection.
        using var timeout = new CancellationTokenSource(Wait);
        var buffer = new byte[1024];
        int read;
        do
        {
            read = await stream.ReadAsync(buffer, timeout.Token);
        }
        while (read > 0);
    }

    private async Task GarbageMediaAsync()
    {
        var stream = await cluster.CreateStreamAsync(new { outputs = new object[] { new { type = "hls", record = true } } });
        var publisher = await V1Publisher.ConnectAsync(Ws(stream));
        var garbage = new byte[64 * 1024];
        new Random(42).NextBytes(garbage);
        await publisher.SendAsync(0, garbage);

        var close = await publisher.ServerClose.WaitAsync(Wait);

        Assert.Equal(4415, (int)close!.CloseStatus!.Value);
        var session = await cluster.WaitForSessionStateAsync(publisher.SessionId, "failed");
        Assert.Equal(JsonValueKind.Null, session.GetProperty("ffmpeg").GetProperty("pid").ValueKind);
        await publisher.DisposeAsync();
    }

    private async Task ExpectOutputRefusedAsync(string url)
    {
        var before = (await cluster.GetJsonAsync("/api/streams")).GetArrayLength();
        using var response = await cluster.Api.PostAsJsonAsync("/api/streams", new { outputs = new[] { new { type = "rtmp", url } } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, (await cluster.GetJsonAsync("/api/streams")).GetArrayLength());
    }

    private async Task ExpectAdminRefusedAsync(string? token)
    {
        using var http = new HttpClient { BaseAddress = Gateway };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        foreach (var request in new[]
        {
            new HttpRequestMessage(HttpMethod.Get, "/api/streams"),
            new HttpRequestMessage(HttpMethod.Post, "/api/streams") { Content = JsonContent.Create(new { }) },
            new HttpRequestMessage(HttpMethod.Delete, $"/api/streams/st00000000000000000000"),
            new HttpRequestMessage(HttpMethod.Post, $"/api/sessions/{_shared.Bystander.SessionId}/stop"),
        })
        {
            using (request)
            using (var response = await http.SendAsync(request))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }
        }
    }

    private async Task AssertBystanderUndisturbedAsync()
    {
        await _shared.SendNextAsync();
        var session = await cluster.GetJsonAsync($"/api/sessions/{_shared.Bystander.SessionId}");
        Assert.Equal("active", session.GetProperty("state").GetString());
        Assert.Equal(_shared.BystanderPid, session.GetProperty("ffmpeg").GetProperty("pid").GetInt32());
        Assert.Equal(1, session.GetProperty("connectionEpoch").GetInt32());
        Assert.False(_shared.Bystander.ServerClose.IsCompleted, "the bystander's socket was closed");
    }

    /// <summary>Every FFmpeg writing under the data folder belongs to a session the API shows as live.</summary>
    private async Task AssertNoOrphanFfmpegAsync()
    {
        await Eventually.ReturnsAsync(
            async () =>
            {
                var live = new HashSet<int>();
                foreach (var stream in (await cluster.GetJsonAsync("/api/streams")).EnumerateArray())
                {
                    if (stream.GetProperty("currentSessionId").GetString() is { } sessionId
                        && (await cluster.GetJsonAsync($"/api/sessions/{sessionId}")).GetProperty("ffmpeg").GetProperty("pid") is { ValueKind: JsonValueKind.Number } pid)
                    {
                        live.Add(pid.GetInt32());
                    }
                }

                return ProcessProbe.FindFfmpegUnder(cluster.DataPath).Except(live).ToList();
            },
            orphans => orphans.Count == 0,
            Wait,
            "no FFmpeg without a live session");
    }

    private async Task<ClientWebSocket> RawAsync(string key, string? origin = null, string? address = null, bool escape = true)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-Forwarded-For", address ?? NextAddress());
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        using var timeout = new CancellationTokenSource(Wait);
        await socket.ConnectAsync(IngestUri(key, escape), timeout.Token);
        return socket;
    }

    private static async Task ExpectCloseAsync(WebSocket socket, int code)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var buffer = new byte[4096];
        while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }
        }

        Assert.Equal(code, (int?)socket.CloseStatus);
        socket.Dispose();
    }

    private Func<CancellationToken, Task<WebSocket>> Ws(CreatedStream stream) => async cancellationToken =>
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("livestream.v1");
        socket.Options.SetRequestHeader("X-Forwarded-For", NextAddress());
        await socket.ConnectAsync(IngestUri(stream.Key), cancellationToken);
        return socket;
    };

    private Uri IngestUri(string key, bool escape = true) =>
        new($"ws://{Gateway.Authority}/stream/live/{(escape ? Uri.EscapeDataString(key) : key)}");

    /// <summary>A client address of its own for each connection, so rows do not share a per-address limit.</summary>
    private static string NextAddress()
    {
        var n = Interlocked.Increment(ref _nextAddress);
        return $"198.51.{n / 250}.{(n % 250) + 1}";
    }

    private sealed class Shared(Uri gateway, V1Publisher bystander, List<ReadOnlyMemory<byte>> chunks)
    {
        private int _next;
        private long _sent;

        public Uri Gateway { get; } = gateway;

        public V1Publisher Bystander { get; } = bystander;

        public int BystanderPid { get; set; }

        /// <summary>Sends the capture's next chunk and waits for its ack (past the capture's end, checks the last ack).</summary>
        public async Task SendNextAsync()
        {
            if (_next < chunks.Count)
            {
                await Bystander.SendAsync(_sent, chunks[_next]);
                _sent += chunks[_next++].Length;
            }

            await Bystander.WaitForAckAsync(_sent, Wait);
        }
    }
}

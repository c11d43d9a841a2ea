using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using LiveStream.Gateway.Ingest;
using LiveStream.Gateway.Options;
using LiveStream.Gateway.Telemetry;
using LiveStream.Ingest;
using LiveStream.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveStream.Gateway.Tests;

/// <summary>
/// The real <see cref="IngestConnection"/> on a server WebSocket over in-memory pipes, against a stand-in grain, with
/// a <c>livestream.v1</c> client socket to drive it. The client's sends never wait for the server to read (the pipe
/// to the server holds 8 MiB), so a test can send while the grain holds a call.
/// </summary>
internal sealed class IngestConnectionHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Pipe _toServer = new(new PipeOptions(pauseWriterThreshold: 8 * 1024 * 1024, resumeWriterThreshold: 4 * 1024 * 1024));
    private readonly Pipe _toClient = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private IngestConnectionHarness()
    {
        Client = WebSocket.CreateFromStream(
            new DuplexStream(_toClient.Reader.AsStream(), _toServer.Writer.AsStream()),
            new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
    }

    public WebSocket Client { get; }

    /// <summary>The connection under test (it is also the session's observer of this publisher).</summary>
    public IngestConnection Connection { get; private set; } = null!;

    /// <summary>The connection's run: its close code once it ends.</summary>
    public Task<int> Server { get; private set; } = Task.FromResult(0);

    /// <summary>
    /// Starts the connection for session <paramref name="sessionId"/> on <paramref name="time"/> (the system clock
    /// by default) and reads its hello.
    /// </summary>
    public static async Task<IngestConnectionHarness> StartAsync(IStreamGrain grain, IngestOptions options, string sessionId, IdleWatch? idleWatch = null, long owner = 0, TimeProvider? time = null)
    {
        var harness = new IngestConnectionHarness();
        var serverSocket = WebSocket.CreateFromStream(
            new DuplexStream(harness._toServer.Reader.AsStream(), harness._toClient.Writer.AsStream()),
            new WebSocketCreationOptions { IsServer = true, SubProtocol = IngestEndpoint.SubprotocolV1, KeepAliveInterval = TimeSpan.Zero });
        var connection = new IngestConnection(
            serverSocket, grain, IngestProtocol.V1, options, time ?? TimeProvider.System, idleWatch ?? new IdleWatch(Microsoft.Extensions.Options.Options.Create(options), time ?? TimeProvider.System), new GatewayInstruments(harness._services.GetRequiredService<IMeterFactory>()), NullLogger.Instance);
        harness.Connection = connection;
        harness.Server = connection.RunAsync(new ConnectResult(true, 0, null, sessionId, 1, 0, 30, null, Owner: owner), CancellationToken.None);
        Assert.Contains("\"hello\"", await harness.ReceiveTextAsync(), StringComparison.Ordinal);
        return harness;
    }

    /// <summary>
    /// Options for a test: no bitrate cap, no idle close, and write attempts given up on after
    /// <paramref name="writeAttemptTimeout"/> and retried for 5 min.
    /// </summary>
    public static IngestOptions Options(TimeSpan writeAttemptTimeout) => new()
    {
        MaxBitsPerSecond = long.MaxValue,
        IdleTimeout = TimeSpan.FromHours(1),
        WriteAttemptTimeout = writeAttemptTimeout,
        WriteRetryTimeout = TimeSpan.FromMinutes(5),
    };

    /// <summary>Seeded random bytes: the same seed gives the same payload.</summary>
    public static byte[] Payload(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Sends a <c>livestream.v1</c> message: the offset, then <see cref="Payload"/>.</summary>
    public async Task SendAsync(long offset, int length, int seed)
    {
        var message = new byte[8 + length];
        BinaryPrimitives.WriteInt64BigEndian(message, offset);
        Payload(length, seed).CopyTo(message, 8);
        await Client.SendAsync(message, WebSocketMessageType.Binary, true, CancellationToken.None);
    }

    public async Task<string> ReceiveTextAsync()
    {
        var buffer = new byte[4096];
        var result = await Client.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Abort();
        _toServer.Writer.Complete();
        _toClient.Writer.Complete();
        await Task.WhenAny(Server, Task.Delay(Timeout));
        _services.Dispose();
    }
}

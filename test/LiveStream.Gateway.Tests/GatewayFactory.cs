using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using LiveStream.Hosting;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace LiveStream.Gateway.Tests;

/// <summary>The embedded default (gateway co-hosting a silo) in a test server, with every exported span kept.</summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    public const string AdminToken = "test-admin-token-0123456789";

    private readonly bool _ownsData;

    public GatewayFactory()
        : this(Directory.CreateTempSubdirectory("livestream-gateway-").FullName, ownsData: true)
    {
    }

    private GatewayFactory(string dataPath, bool ownsData)
    {
        DataPath = dataPath;
        _ownsData = ownsData;
    }

    /// <summary>A gateway on a data folder the caller owns (it is kept on dispose), e.g. to restart on it.</summary>
    public static GatewayFactory On(string dataPath) => new(dataPath, ownsData: false);

    public string DataPath { get; }

    public ConcurrentQueue<Activity> ExportedSpans { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("LiveStream:DataPath", DataPath);
        builder.UseSetting("LiveStream:AdminToken", AdminToken);
        // Test-server connections have no client address: they all share one per-IP limit.
        builder.UseSetting("LiveStream:Ingest:ConnectionsPerWindow", "1000000");
        builder.UseSetting("LiveStream:Cluster:SiloPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("LiveStream:Cluster:GatewayPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("LiveStream:Cluster:ClusterId", "gateway-tests-" + Guid.NewGuid().ToString("N"));
        // Spans are exported by the test's own exporter, not over OTLP: grain calls carry the trace all the same.
        builder.UseSetting(TelemetryExtensions.GrainCallSpansKey, "true");
        builder.ConfigureTestServices(services => services.ConfigureOpenTelemetryTracerProvider(
            tracing => tracing.AddSource([.. TelemetryExtensions.TracedSources, "Microsoft.AspNetCore"]).AddProcessor(new SimpleActivityExportProcessor(new ListExporter(ExportedSpans)))));
    }

    public HttpClient CreateAdminClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
        return client;
    }

    /// <summary>The ingest URL of <paramref name="key"/> on this test server.</summary>
    public Uri IngestUri(string key) => new(Server.BaseAddress, "/stream/live/" + Uri.EscapeDataString(key));

    /// <summary>Connects raw with <paramref name="key"/> and returns the close code the server refuses it with.</summary>
    public async Task<int> RefusalAsync(string key)
    {
        using var socket = await Server.CreateWebSocketClient().ConnectAsync(IngestUri(key), CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await socket.ReceiveAsync(new byte[256], timeout.Token);
        Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Close, result.MessageType);
        return (int)result.CloseStatus!.Value;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownsData)
        {
            Directory.Delete(DataPath, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ListExporter(ConcurrentQueue<Activity> spans) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var activity in batch)
            {
                spans.Enqueue(activity);
            }

            return ExportResult.Success;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFactory>
{
    public const string Name = "embedded gateway";
}

using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using LiveStream.Gateway.Api;
using LiveStream.Gateway.Ingest;
using LiveStream.Gateway.Options;
using LiveStream.Hosting;
using LiveStream.Options;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OpenTelemetry.Trace;
using StackExchange.Redis;

namespace LiveStream.Gateway.Hosting;

/// <summary>The gateway's wiring: Orleans client (or the embedded co-hosted silo), options, APIs, ingest, HLS.</summary>
public static class GatewayHostingExtensions
{
    /// <summary>
    /// Adds the gateway's services, once per process. With <c>Gateway:HostSilo</c> (the embedded default) the silo's
    /// composition comes with them, which brings the options, telemetry and health every process has; otherwise the
    /// gateway adds those itself, with an Orleans client.
    /// </summary>
    public static WebApplicationBuilder AddLiveStreamGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewayHostingOptions>().BindConfiguration(GatewayHostingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayHostingOptions>, GatewayHostingOptionsValidator>();
        services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IngestOptions>, IngestOptionsValidator>();
        services.AddSingleton<IValidateOptions<LiveStreamOptions>, AdminTokenValidator>();
        services.AddSingleton<GatewayIdentity>();
        services.AddSingleton<Telemetry.GatewayInstruments>();
        services.AddSingleton<KeyResolver>();
        services.AddSingleton<IngestAdmission>();
        services.AddSingleton<IdleWatch>();
        services.TryAddSingleton(TimeProvider.System);
        // Socket reads of up to 64 KiB into kept blocks (see SocketBlockPool): the last registration is the one Kestrel gets.
        services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, SocketBlockPoolFactory>();
        // A WebSocket read continues on the thread that completed the socket read, and an ack is sent on the thread
        // that wrote it, instead of a hand-off (a thread wake-up at low load) each way: see InlineSocketScheduling.
        // Kestrel runs the socket completions on the thread pool here (inline completions are not enabled), so no
        // handler runs on the sockets' event thread.
        var inline = (builder.Configuration.GetSection(ClusterHostingOptions.Section).Get<ClusterHostingOptions>() ?? new()).InlineSocketScheduling;
        services.Configure<SocketTransportOptions>(sockets => sockets.UnsafePreferInlineScheduling = inline);

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<IngestOptions>>(
            (kestrel, ingest) => kestrel.Limits.RequestHeadersTimeout = ingest.Value.HandshakeTimeout);
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<IngestOptions>>((forwarded, ingest) =>
        {
            // Forwarded headers are believed only from the configured proxies; by default from nobody (not even
            // loopback, which ASP.NET Core trusts out of the box), so a client cannot choose its own address.
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in ingest.Value.TrustedProxies)
            {
                if (IPAddress.TryParse(proxy, out var address))
                {
                    forwarded.KnownProxies.Add(address);
                }
                else
                {
                    forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(proxy));
                }
            }
        });
        services.AddSingleton<AdminToken>();
        services.AddSingleton<Operations.LiveSessionScanner>();
        services.AddHostedService<AdminTokenAnnouncer>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        });
        services.AddProblemDetails();

        // The hosting request log prints raw paths (the ingest path carries the key); our middleware logs instead.
        // PostConfigure runs after configuration binding, so this rule wins over a plain LogLevel setting.
        services.PostConfigure<LoggerFilterOptions>(o => o.Rules.Add(
            new LoggerFilterRule(null, RedactedRequestLogging.HostingDiagnosticsCategory, LogLevel.Warning, null)));

        var gateway = builder.Configuration.GetSection(GatewayHostingOptions.Section).Get<GatewayHostingOptions>() ?? new();
        if (!string.IsNullOrWhiteSpace(gateway.MetricsUrl))
        {
            // One more listener, for /metrics only (the endpoint requires its port).
            var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
            builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.IsNullOrWhiteSpace(urls) ? gateway.MetricsUrl : $"{urls};{gateway.MetricsUrl}");
        }

        if (gateway.HostSilo)
        {
            builder.AddLiveStreamSilo();
        }
        else
        {
            services.AddLiveStreamCoreOptions();
            builder.AddLiveStreamTelemetry();
            services.AddLiveStreamHealthChecks();

            // The Orleans client retries its connection until a silo answers; started concurrently, it does not hold
            // Kestrel back meanwhile, so /health/live answers and /health/ready says 503 until the cluster is there.
            services.Configure<HostOptions>(o => o.ServicesStartConcurrently = true);
            AddClient(builder);
        }

        if (TelemetryExtensions.ExportsTraces(builder.Configuration))
        {
            services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource("Microsoft.AspNetCore"));
        }

        return builder;
    }

    /// <summary>Maps every gateway endpoint.</summary>
    public static WebApplication MapLiveStreamGateway(this WebApplication app)
    {
        var metricsPort = app.Services.GetRequiredService<IOptions<GatewayHostingOptions>>().Value.MetricsPort;
        if (metricsPort is { } port)
        {
            // The metrics listener serves /metrics and health only: nothing of the public surface.
            app.Use((context, next) =>
                context.Connection.LocalPort == port && !context.Request.Path.StartsWithSegments(TelemetryExtensions.MetricsPath)
                    && !context.Request.Path.StartsWithSegments("/health")
                    ? Results.NotFound().ExecuteAsync(context)
                    : next(context));
        }

        app.UseForwardedHeaders();
        app.UseMiddleware<RedactedRequestLogging>();
        app.UseWebSockets();
        if (app.Services.GetRequiredService<IOptions<GatewayHostingOptions>>().Value.ServeHls)
        {
            app.UseHlsFiles();
        }

        if (app.Services.GetRequiredService<IOptions<GatewayHostingOptions>>().Value.ServeClient)
        {
            app.UseGoLivePage();
        }

        app.MapLiveStreamHealth();
        if (metricsPort is { } onlyOn)
        {
            app.MapLiveStreamMetrics($"*:{onlyOn}");
        }

        app.MapStreamIngest();
        app.MapStreamsApi();
        app.MapOperationsApi();
        return app;
    }

    private static void UseHlsFiles(this WebApplication app)
    {
        var root = Path.Combine(app.Services.GetRequiredService<IOptions<LiveStreamOptions>>().Value.FullDataPath, Sessions.DataLayout.HlsFolder);
        Directory.CreateDirectory(root);
        var types = new FileExtensionContentTypeProvider(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [".m3u8"] = "application/vnd.apple.mpegurl",
            [".ts"] = "video/mp2t",
            [".m4s"] = "video/iso.segment",
            [".mp4"] = "video/mp4",
        });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(root),
            RequestPath = "/" + Sessions.DataLayout.HlsFolder,
            ContentTypeProvider = types,
            OnPrepareResponse = ctx =>
            {
                // Playlists change every segment; segments never change.
                ctx.Context.Response.Headers.CacheControl = ctx.File.Name.EndsWith(".m3u8", StringComparison.OrdinalIgnoreCase)
                    ? "no-cache"
                    : "public, max-age=3600";
                ctx.Context.Response.Headers.AccessControlAllowOrigin = "*";
            },
        });
    }

    private static void AddClient(WebApplicationBuilder builder)
    {
        var cluster = builder.Configuration.GetSection(ClusterHostingOptions.Section).Get<ClusterHostingOptions>() ?? new();
        var ingest = builder.Configuration.GetSection(IngestOptions.Section).Get<IngestOptions>() ?? new();
        var redis = builder.Configuration.GetConnectionString("Redis");
        builder.UseOrleansClient(client =>
        {
            client.Services.AddOrleansSocketBlocks();
            if (cluster.InlineSocketScheduling)
            {
                client.Services.AddOrleansInlineSends();
            }

            // Orleans' 30 s default would hold a chunk that long when its silo dies; the ingest path retries instead.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = ingest.GrainCallTimeout);

            // A silo that hangs without closing its connections is left only once the list shows it dead.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = ingest.SiloListRefresh);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            if (string.IsNullOrWhiteSpace(redis))
            {
                client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
            }
            else
            {
                client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            }

            // Keep trying while the silos start: a gateway may come up first.
            client.UseConnectionRetryFilter(async (_, cancellationToken) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                return !cancellationToken.IsCancellationRequested;
            });
            if (TelemetryExtensions.TracesGrainCalls(builder.Configuration))
            {
                client.AddActivityPropagation();
            }
        });
    }
}

using System.Net;
using LiveStream.Options;
using LiveStream.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace LiveStream.Hosting;

/// <summary>Wires the webhook dispatcher: options, its HTTP client with the delivery pipeline, and the background sender.</summary>
public static class WebhookHostingExtensions
{
    /// <summary>Adds <see cref="ISessionEvents"/> backed by the webhook dispatcher. Calling it again adds nothing.</summary>
    public static IServiceCollection AddLiveStreamWebhooks(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(WebhookSlots)))
        {
            return services;
        }

        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<WebhookSlots>();
        services.AddTransient<WebhookSigningHandler>();

        // No logging handlers (they would log the URL, query included); no redirects; the pipeline times each attempt.
        var client = services.AddHttpClient(WebhookDispatcher.HttpClientName)
            .RemoveAllLoggers()
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            });

        // One pipeline, so one circuit breaker and one share of the requests in flight, per receiver.
        client
            .AddResilienceHandler(WebhookResilience.PipelineName, (builder, context) => WebhookResilience.Configure(builder, context.InstanceName, context.ServiceProvider))
            .SelectPipelineBy(_ => WebhookResilience.ReceiverOf);

        // Added after the resilience handler, so inside it: each attempt is signed as it goes out.
        client.AddHttpMessageHandler<WebhookSigningHandler>();

        services.AddSingleton<WebhookDispatcher>();
        services.TryAddSingleton<ISessionEvents>(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }
}

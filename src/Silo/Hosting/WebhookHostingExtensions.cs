using System.Net;
using LiveStream.Options;
using LiveStream.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LiveStream.Hosting;

/// <summary>Wires the webhook dispatcher: options, its HTTP client and the background sender.</summary>
public static class WebhookHostingExtensions
{
    /// <summary>Adds <see cref="ISessionEvents"/> backed by the webhook dispatcher. </summary>
    public static IServiceCollection AddLiveStreamWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // No logging handlers (they would log the URL, query included); no redirects; the dispatcher times each attempt.
        services.AddHttpClient(WebhookDispatcher.HttpClientName)
            .RemoveAllLoggers()
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            });
        services.AddSingleton<WebhookDispatcher>();
        services.TryAddSingleton<ISessionEvents>(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }
}

using LiveStream.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LiveStream.Hosting;

/// <summary>Binds and validates the options every LiveStream process uses.</summary>
public static class LiveStreamOptionsExtensions
{
    /// <summary>Binds <see cref="LiveStreamOptions"/> and <see cref="ClusterHostingOptions"/>, validated on start.</summary>
    public static IServiceCollection AddLiveStreamCoreOptions(this IServiceCollection services)
    {
        services.AddOptions<LiveStreamOptions>().BindConfiguration(LiveStreamOptions.Section).ValidateOnStart();
        services.AddOptions<ClusterHostingOptions>().BindConfiguration(ClusterHostingOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LiveStreamOptions>, LiveStreamOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterHostingOptions>, ClusterHostingOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}

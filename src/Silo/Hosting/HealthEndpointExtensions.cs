using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace LiveStream.Hosting;

/// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (joined or connected to the cluster).</summary>
public static class HealthEndpointExtensions
{
    /// <summary>Registers the cluster readiness check. </summary>
    public static IServiceCollection AddLiveStreamHealthChecks(this IServiceCollection services)
    {
        services.AddSingleton<ClusterReadyHealthCheck>();
        services.AddHealthChecks().AddCheck<ClusterReadyHealthCheck>("cluster", tags: [ClusterReadyHealthCheck.ReadyTag]);

        return services;
    }

    /// <summary>Maps the two health endpoints.</summary>
    public static IEndpointRouteBuilder MapLiveStreamHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ClusterReadyHealthCheck.ReadyTag) });
        return endpoints;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DeepDeploy.Grains.Telemetry;

public static class ControlPlaneMetricsExtensions
{
    /// <summary>The per-silo <see cref="ControlPlaneMetrics"/> the deployment, node and ledger grains write to.</summary>
    public static IServiceCollection AddDeepDeployControlPlaneMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<ControlPlaneMetrics>();
        return services;
    }
}

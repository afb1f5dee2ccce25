using DeepDeploy.Gateway.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeepDeploy.Silo.Hosting.Health;

/// <summary>A gateway: healthy once its routing table holds the route directory's first snapshot; before that
/// every inference request would miss its model.</summary>
public sealed class RoutesHealthCheck(RouteTable routes) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(routes.Ready.IsCompletedSuccessfully
            ? HealthCheckResult.Healthy("routes loaded from the route directory")
            : HealthCheckResult.Unhealthy("routes not loaded yet"));
}

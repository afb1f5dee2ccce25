using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeepDeploy.Silo.Hosting.Health;

/// <summary>The gateway role alone: healthy while its cluster client is connected to a silo.</summary>
public sealed class ClusterConnectionHealthCheck(ClusterConnectionStatus status, IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStarted.IsCancellationRequested && status.Connected
            ? HealthCheckResult.Healthy("connected to the cluster")
            : HealthCheckResult.Unhealthy("not connected to the cluster"));
}

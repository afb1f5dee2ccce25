using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeepDeploy.Silo.Hosting.Health;

/// <summary>Healthy while the cluster's membership lists this silo as active: it joined and was not declared dead.</summary>
public sealed class SiloMembershipHealthCheck(IClusterMembershipService membership, ILocalSiloDetails silo) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active
            ? HealthCheckResult.Healthy("this silo is an active member of the cluster")
            : HealthCheckResult.Unhealthy("this silo is not an active member of the cluster"));
}

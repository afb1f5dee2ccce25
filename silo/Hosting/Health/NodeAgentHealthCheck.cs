using DeepDeploy.Node;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeepDeploy.Silo.Hosting.Health;

/// <summary>A GPU node: healthy once its agent registered the node's GPUs with the cluster.</summary>
public sealed class NodeAgentHealthCheck(NodeAgent agent) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(agent.Registered
            ? HealthCheckResult.Healthy("the node agent registered this node's GPUs")
            : HealthCheckResult.Unhealthy("the node agent has not registered this node yet"));
}

using DeepDeploy.Node;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeepDeploy.Silo.Hosting.Health;

/// <summary>A GPU node: healthy once its agent registered the node's GPUs with the cluster; degraded (still ready) when
/// some deployments could not be told that their instances ended with an earlier run.</summary>
public sealed class NodeAgentHealthCheck(NodeAgent agent) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!agent.Registered)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the node agent has not registered this node yet"));
        }

        var untold = agent.UntoldDeployments;
        return Task.FromResult(untold.Count == 0
            ? HealthCheckResult.Healthy("the node agent registered this node's GPUs")
            : HealthCheckResult.Degraded($"the node agent registered this node's GPUs; {untold.Count} deployment(s) could not be told "
                + $"that their instances ended (their grains fail to activate): {string.Join(", ", untold)}"));
    }
}

using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Users;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>Places one more instance of a deployment: reserves its GPUs against the owner's quota, asks the node
/// registry where it fits (spread over nodes, away from recently troubled ones, best fit) and the nodes in that
/// order to start it. What it could not place gives its reservation back.</summary>
public sealed class InstancePlacer(string deployId, IGrainFactory grains, TimeProvider time, ILogger log)
{
    /// <summary>How long a node where an instance failed or was lost is placed last.</summary>
    static readonly TimeSpan TroubleMemory = TimeSpan.FromMinutes(5);

    /// <param name="deployment">The deployment's state; the new instance is recorded in it.</param>
    /// <param name="save">Persists that state: the intent is recorded before a node is asked.</param>
    /// <returns>Where it was placed, or null when it could not be.</returns>
    public async Task<NodeAllocation?> TryPlaceAsync(DeploymentState deployment, Func<Task> save)
    {
        var spec = deployment.Spec!;
        var instanceId = $"{deployId}-{deployment.NextInstance + 1}";
        var quota = grains.GetGrain<IUserQuotaGrain>(spec.Owner);
        if (!await quota.TryReserveGpus(instanceId, spec.NumGpus))
        {
            return null;
        }

        var now = time.GetUtcNow();
        foreach (var old in deployment.TroubledNodes.Where(t => now - t.Value > TroubleMemory).Select(t => t.Key).ToList())
        {
            deployment.TroubledNodes.Remove(old);
        }

        var replicas = deployment.Instances.Values.Where(i => !i.Stopping).GroupBy(i => i.Node).ToDictionary(g => g.Key, g => g.Count());
        var nodes = await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key)
            .FindNodes(spec.Gpu, spec.NumGpus, replicas, deployment.TroubledNodes.Keys.ToArray());
        var launch = new InstanceLaunch(instanceId, deployId, spec.FullModelName, spec.Gpu, spec.NumGpus, spec.MaxBatchSize,
            spec.HfRepo, deployment.Commit!, deployment.WeightsFile!, spec.HfTokenProtected, spec.ExtraArgs, spec.Quantization,
            deployment.WeightsFormat ?? WeightsFormats.Gguf);
        foreach (var node in nodes)
        {
            // Record the intent first: a crash between here and the node's answer leaves a record the
            // node's next registration clears, never GPUs nobody knows about.
            deployment.NextInstance++;
            deployment.Instances[instanceId] = new InstanceRecord { Id = instanceId, Node = node, Phase = InstancePhase.Placed, Seq = deployment.NextInstance };
            await save();
            NodeAllocation? allocation;
            try
            {
                allocation = await grains.GetGrain<IGpuNodeGrain>(node).StartInstance(launch);
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Node {Node} did not take instance {InstanceId}", node, instanceId);
                allocation = null;
            }

            if (allocation is not null)
            {
                deployment.Instances[instanceId].Silo = allocation.Silo;
                return allocation;
            }

            deployment.Instances.Remove(instanceId);
        }

        await quota.ReleaseGpus(instanceId);
        return null;
    }
}

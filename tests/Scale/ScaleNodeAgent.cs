using System.Collections.Concurrent;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;

namespace DeepDeploy.Tests.Scale;

/// <summary>
/// TEST DOUBLE for the node agents of many GPU hosts at once (a 2-core machine cannot run a silo per node): whichever
/// GPU node grain calls it, it "starts" the instance at once and reports it serving, and a stop releases the GPUs.
/// The node is the calling grain's key. Tells <see cref="ControlPlaneProbe"/> when an instance was scheduled.
/// </summary>
public sealed class ScaleNodeAgent(IGrainFactory grains, IGrainContextAccessor context, ControlPlaneProbe probe) : INodeAgent
{
    readonly ConcurrentDictionary<string, string> _nodeOf = new(StringComparer.Ordinal);

    public string NodeName => "scale-simulation";

    public void Launch(InstanceLaunch launch, IReadOnlyList<int> gpuIndices)
    {
        var node = context.GrainContext.GrainId.Key.ToString()!;
        _nodeOf[launch.InstanceId] = node;
        probe.Scheduled(launch.DeployId);
        _ = Task.Run(() => grains.GetGrain<IDeploymentGrain>(launch.DeployId)
            .OnInstanceUpdate(new InstanceUpdate(launch.InstanceId, InstancePhase.Running, $"http://{node}.invalid/{launch.InstanceId}", null)));
    }

    public void Stop(string instanceId, string deployId)
    {
        if (!_nodeOf.TryRemove(instanceId, out var node))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            await grains.GetGrain<IGpuNodeGrain>(node).InstanceGone(instanceId);
            await grains.GetGrain<IDeploymentGrain>(deployId).OnInstanceUpdate(new InstanceUpdate(instanceId, InstancePhase.Exited, null, "stopped"));
        });
    }

    public IReadOnlyList<InstanceLog> GetLogs(string deployId, int lines) => [];
}

using System.Collections.Concurrent;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// TEST DOUBLE for a GPU host's node agent: it starts no process. A launched instance "serves" after
/// <see cref="StartDelay"/> (reported like the real agent does), and a stop ends it at once. It lets a
/// TestingHost cluster with many nodes exercise placement, scaling and node loss.
/// </summary>
public sealed class SimulatedNodeAgent(IGrainFactory grains, string nodeName, int gpus, string gpuType, IReadOnlyList<NodeEngine>? engines = null) : INodeAgent, ILifecycleParticipant<ISiloLifecycle>
{
    public static readonly TimeSpan StartDelay = TimeSpan.FromMilliseconds(100);

    readonly ConcurrentDictionary<string, (InstanceLaunch Launch, IReadOnlyList<int> Gpus)> _running = new();

    public string NodeName => nodeName;

    public IReadOnlyCollection<string> Running => _running.Keys.ToArray();

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SimulatedNodeAgent), ServiceLifecycleStage.Active, async _ =>
        {
            var info = new NodeInfo(nodeName, Simulated: true, Enumerable.Range(0, gpus).Select(i => new GpuDevice(i, gpuType, 80 * 1024)).ToArray(), engines);
            foreach (var stale in await grains.GetGrain<IGpuNodeGrain>(nodeName).Register(info))
            {
                await grains.GetGrain<IDeploymentGrain>(stale.DeployId).OnInstanceUpdate(new InstanceUpdate(stale.InstanceId, InstancePhase.Exited, null, "node restarted"));
            }
        });

    public void Launch(InstanceLaunch launch, IReadOnlyList<int> gpuIndices)
    {
        _running[launch.InstanceId] = (launch, gpuIndices);
        _ = Task.Run(async () =>
        {
            // Stands for an engine's start-up time, so instances pass through "starting" as real ones do.
            await Task.Delay(StartDelay);
            if (_running.ContainsKey(launch.InstanceId))
            {
                await grains.GetGrain<IDeploymentGrain>(launch.DeployId)
                    .OnInstanceUpdate(new InstanceUpdate(launch.InstanceId, InstancePhase.Running, $"http://{nodeName}.invalid/{launch.InstanceId}", null));
            }
        });
    }

    public void Stop(string instanceId, string deployId)
    {
        _running.TryRemove(instanceId, out _);
        _ = Task.Run(async () =>
        {
            await grains.GetGrain<IGpuNodeGrain>(nodeName).InstanceGone(instanceId);
            await grains.GetGrain<IDeploymentGrain>(deployId).OnInstanceUpdate(new InstanceUpdate(instanceId, InstancePhase.Exited, null, "stopped"));
        });
    }

    public IReadOnlyList<InstanceLog> GetLogs(string deployId, int lines) =>
        _running.Values.Where(r => r.Launch.DeployId == deployId)
            .Select(r => new InstanceLog(r.Launch.InstanceId, nodeName, true, ["simulated instance: no output"]))
            .ToArray();
}

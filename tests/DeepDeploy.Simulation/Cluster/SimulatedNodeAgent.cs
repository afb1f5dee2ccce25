using System.Collections.Concurrent;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Simulation.Engine;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// TEST DOUBLE for a GPU host's node agent: it starts no process. A launched instance "serves" after
/// <see cref="StartDelay"/> (reported like the real agent does), and a stop ends it at once. It lets a
/// TestingHost cluster with many nodes exercise placement, scaling and node loss. With a <see cref="NodeSimulation"/>
/// each instance is a <see cref="SimulatedEngine"/> that starts in the latency model's start-up time and serves
/// the simulation's gateways, and the node reports to the registry like a real one.
/// </summary>
public sealed class SimulatedNodeAgent(IGrainFactory grains, string nodeName, int gpus, string gpuType, IReadOnlyList<NodeEngine>? engines = null, NodeSimulation? simulation = null) : INodeAgent, ILifecycleParticipant<ISiloLifecycle>
{
    public static readonly TimeSpan StartDelay = TimeSpan.FromMilliseconds(100);

    readonly ConcurrentDictionary<string, (InstanceLaunch Launch, IReadOnlyList<int> Gpus)> _running = new();
    readonly CancellationTokenSource _stopping = new();
    Task _heartbeat = Task.CompletedTask;

    public string NodeName => nodeName;

    public IReadOnlyCollection<string> Running => _running.Keys.ToArray();

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SimulatedNodeAgent), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    /// <summary>Registers the node (and, simulated, starts its heartbeat).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var info = new NodeInfo(nodeName, Simulated: true, Enumerable.Range(0, gpus).Select(i => new GpuDevice(i, gpuType, 80 * 1024)).ToArray(), engines);
        foreach (var stale in await grains.GetGrain<IGpuNodeGrain>(nodeName).Register(info))
        {
            await grains.GetGrain<IDeploymentGrain>(stale.DeployId).OnInstanceUpdate(new InstanceUpdate(stale.InstanceId, InstancePhase.Exited, null, "node restarted"));
        }

        if (simulation is { Heartbeat: true })
        {
            _heartbeat = Task.Run(HeartbeatAsync, CancellationToken.None);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _heartbeat;
    }

    async Task HeartbeatAsync()
    {
        var registry = grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);
        using var timer = new PeriodicTimer(NodeSimulation.HeartbeatInterval);
        try
        {
            do
            {
                try
                {
                    await registry.Report(nodeName, NodeSimulation.Lease);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A missed report is what the lease is for; the next one follows.
                }
            }
            while (await timer.WaitForNextTickAsync(_stopping.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Launch(InstanceLaunch launch, IReadOnlyList<int> gpuIndices)
    {
        _running[launch.InstanceId] = (launch, gpuIndices);
        var endpoint = simulation is null ? $"http://{nodeName}.invalid/{launch.InstanceId}" : EngineFleet.EndpointOf(nodeName, launch.InstanceId);
        var delay = StartDelay;
        SimulatedEngine? engine = null;
        if (simulation is not null)
        {
            var profile = simulation.Model.For(launch.Gpu);
            engine = new SimulatedEngine(launch.InstanceId, launch.DeployId, launch.NumGpus, launch.MaxBatchSize, profile, simulation.Clock);
            simulation.Fleet.Add(endpoint, engine);
            delay = simulation.Clock.Real(profile.StartupSeconds(simulation.Model.WeightsOf(launch.HfRepo)));
        }

        _ = Task.Run(async () =>
        {
            // Stands for an engine's start-up time, so instances pass through "starting" as real ones do.
            await Task.Delay(delay);
            if (_running.ContainsKey(launch.InstanceId))
            {
                engine?.Start();
                await grains.GetGrain<IDeploymentGrain>(launch.DeployId)
                    .OnInstanceUpdate(new InstanceUpdate(launch.InstanceId, InstancePhase.Running, endpoint, null));
                if (engine is not null)
                {
                    engine.RunningReported = simulation!.Clock.Now;
                }
            }
        });
    }

    public void Stop(string instanceId, string deployId)
    {
        _running.TryRemove(instanceId, out _);
        SimulatedEngine? engine = null;
        if (simulation is not null)
        {
            var endpoint = EngineFleet.EndpointOf(nodeName, instanceId);
            engine = simulation.Fleet.Find(endpoint);
            engine?.Stop();
            simulation.Fleet.Remove(endpoint);
        }

        _ = Task.Run(async () =>
        {
            await grains.GetGrain<IGpuNodeGrain>(nodeName).InstanceGone(instanceId);
            await grains.GetGrain<IDeploymentGrain>(deployId).OnInstanceUpdate(new InstanceUpdate(instanceId, InstancePhase.Exited, null, "stopped"));
            if (engine is not null)
            {
                engine.ExitReported = simulation!.Clock.Now;
            }
        });
    }

    public IReadOnlyList<InstanceLog> GetLogs(string deployId, int lines) =>
        _running.Values.Where(r => r.Launch.DeployId == deployId)
            .Select(r => new InstanceLog(r.Launch.InstanceId, nodeName, true, ["simulated instance: no output"]))
            .ToArray();
}

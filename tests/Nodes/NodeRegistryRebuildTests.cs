using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Storage;

namespace DeepDeploy.Tests.Nodes;

/// <summary>
/// The registry's capacity view is soft state: a registry that comes up (its silo died, or it was deactivated) finds
/// the nodes on their silos' records and takes each node's capacity from the node's grain, without waiting for
/// reports. A registry saved by the version that stored the whole view ends with the nodes' own capacity, and its next
/// save keeps only the lost nodes. The simulated agents send no heartbeat here: the test reports for them.
/// </summary>
public sealed class NodeRegistryRebuildTests
{
    static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_registry_that_comes_up_takes_each_nodes_capacity_from_its_grain_and_saves_only_the_lost_nodes()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 2);
        await sim.CreateUserAsync("rita", gpuLimit: 16);
        var id = await sim.DeployAsync("rita", "soft", numGpus: 1, min: 1, max: 1);
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        var busy = sim.Agents.Single(a => a.Running.Count == 1).NodeName;
        var idle = sim.Agents.Single(a => a.Running.Count == 0).NodeName;
        var registry = sim.Grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);
        var storage = sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
        var before = await registry.List();
        Assert.Equal(2 * SimulatedCluster.GpusPerNode - 1, before.Sum(n => n.Free[SimulatedCluster.Gpu]));

        // Nothing saved but the (empty) lost set: a registry that comes up asks the nodes on the silos' records, no report needed.
        await Restart(registry);
        await Eventually.TrueAsync(async () => (await registry.List()).Sum(n => n.Free[SimulatedCluster.Gpu]) == 2 * SimulatedCluster.GpusPerNode - 1,
            TimeSpan.FromSeconds(10), "both nodes' capacity, taken from their grains");
        Assert.Equal(SimulatedCluster.GpusPerNode - 1, (await registry.List()).Single(n => n.Node == busy).Free[SimulatedCluster.Gpu]);
        Assert.Equal([id], (await registry.List()).Single(n => n.Node == busy).Deployments!);

        // The old form: the whole view saved, here stale (every GPU free); the nodes' own answers replace it.
        // Arrays and dictionaries, not collection expressions: the storage's JSON cannot read back the compiler's types.
        var stale = before.ToDictionary(n => n.Node, n => new NodeCapacity(n.Node, n.Simulated, new Dictionary<string, int>(n.Total),
            new Dictionary<string, int> { [SimulatedCluster.Gpu] = SimulatedCluster.GpusPerNode }, n.Silo, Array.Empty<string>()));
        await storage.WriteStateAsync("registry", registry.GetGrainId(), new GrainState<NodeRegistryState>(new NodeRegistryState { Nodes = stale }));
        await Restart(registry);
        Assert.True(await registry.Report(busy, LongLease));
        await Eventually.TrueAsync(async () => (await registry.List()).Single(n => n.Node == busy).Free[SimulatedCluster.Gpu] == SimulatedCluster.GpusPerNode - 1,
            TimeSpan.FromSeconds(10), "the reporting node's own capacity replaces the saved one");

        // A lost node is what the registry saves now, without the old view.
        Assert.True(await registry.Report(idle, TimeSpan.FromSeconds(1)));
        await Eventually.TrueAsync(async () => (await registry.All()).Single(n => n.Capacity.Node == idle).State == NodeState.Lost,
            TimeSpan.FromSeconds(10), "the silent node lost");
        var saved = await Read(storage, registry);
        Assert.Empty(saved.Nodes);
        Assert.Equal([idle], saved.Lost.Keys);

        // It stays lost across a restart, and is back once it registers again.
        await Restart(registry);
        await Eventually.TrueAsync(async () => (await registry.All()).Count == 2, TimeSpan.FromSeconds(10), "a fresh registry that found both nodes");
        Assert.Equal([busy], (await registry.List()).Select(n => n.Node));
        Assert.False(await registry.Report(idle, LongLease));
        var info = new NodeInfo(idle, Simulated: true, Enumerable.Range(0, SimulatedCluster.GpusPerNode)
            .Select(i => new GpuDevice(i, SimulatedCluster.Gpu, 80 * 1024)).ToArray());
        await sim.Grains.GetGrain<IGpuNodeGrain>(idle).Register(info);
        Assert.True(await registry.Report(idle, LongLease));
        Assert.Equal(NodeState.Live, (await registry.All()).Single(n => n.Capacity.Node == idle).State);
        Assert.Empty((await Read(storage, registry)).Lost);
    }

    /// <summary>As if its silo had died: the next call activates it again from storage.</summary>
    static Task Restart(INodeRegistryGrain registry) => registry.Cast<IGrainManagementExtension>().DeactivateOnIdle().AsTask();

    static async Task<NodeRegistryState> Read(IGrainStorage storage, INodeRegistryGrain registry)
    {
        var state = new GrainState<NodeRegistryState>(new NodeRegistryState());
        await storage.ReadStateAsync("registry", registry.GetGrainId(), state);
        return state.State!;
    }
}

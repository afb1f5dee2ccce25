using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Nodes;

/// <summary>A GPU node whose capacity push the registry does not take (its silo just died, its storage is away): the
/// instance it started still counts — started once, not placed again elsewhere — and the registry's view catches up
/// when it can take the push again.</summary>
public sealed class CapacityPushTests
{
    [Fact]
    public async Task A_push_the_registry_does_not_take_fails_no_start_and_reaches_it_later()
    {
        var outage = new RegistryOutage();
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1, silo: silo => silo.AddIncomingGrainCallFilter(outage.Filter));
        await sim.NodesRegistered;
        var registry = sim.Grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);
        await Eventually.TrueAsync(async () => (await registry.List()).Count == 1, TimeSpan.FromSeconds(10), "the node registered");
        await sim.CreateUserAsync("rita", gpuLimit: 8);

        outage.Down = true;
        var id = await sim.DeployAsync("rita", "steady", numGpus: 2, min: 1, max: 1);
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(() => outage.Refused > 0, TimeSpan.FromSeconds(10), "the node's push refused");
        var agent = Assert.Single(sim.Agents);
        Assert.Single(agent.Running);
        var stale = Assert.Single(await registry.List());
        Assert.Equal(SimulatedCluster.GpusPerNode, stale.Free[SimulatedCluster.Gpu]);

        outage.Down = false;
        var caught = await Eventually.MatchAsync(async () => Assert.Single(await registry.List()),
            n => n.Deployments?.Contains(id) == true, TimeSpan.FromSeconds(10), "the registry's view caught up");
        Assert.Equal(SimulatedCluster.GpusPerNode - 2, caught.Free[SimulatedCluster.Gpu]);
        Assert.Single(agent.Running);
        Assert.Equal(1, (await sim.Grains.GetGrain<IDeploymentGrain>(id).Get())!.RunningInstances);
    }

    /// <summary>TEST DOUBLE for a registry that cannot take a node's push: while <see cref="Down"/>, the registry's
    /// <c>Update</c> and <c>Join</c> fail before they reach it (placement's <c>FindNodes</c> still answers).</summary>
    sealed class RegistryOutage
    {
        int _refused;

        public volatile bool Down;

        public int Refused => Volatile.Read(ref _refused);

        public Task Filter(IIncomingGrainCallContext context)
        {
            if (Down && context.InterfaceMethod.DeclaringType == typeof(INodeRegistryGrain)
                && context.InterfaceMethod.Name is nameof(INodeRegistryGrain.Update) or nameof(INodeRegistryGrain.Join))
            {
                Interlocked.Increment(ref _refused);
                throw new OrleansException("TEST DOUBLE: the node registry is unreachable");
            }

            return context.Invoke();
        }
    }
}

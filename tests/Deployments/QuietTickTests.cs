using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Tests.Cluster;

namespace DeepDeploy.Tests.Deployments;

/// <summary>A deployment whose instances run as wanted: its ticks change nothing, so they write nothing (session 13's
/// profile at 2,000 deployments: each tick wrote the unchanged state, 1,000 writes per second).</summary>
public sealed class QuietTickTests
{
    [Fact]
    public async Task A_tick_that_changes_nothing_does_not_write_the_deployment()
    {
        var ticks = new TickCounter();
        await using var sim = await SimulatedCluster.StartAsync(new SimulatedClusterOptions { Silos = 1, Nodes = 1, InMemoryStorage = true, Silo = ticks.Filter });
        await sim.NodesRegistered;
        await sim.CreateUserAsync("rita", gpuLimit: 8);
        var id = await sim.DeployAsync("rita", "steady", numGpus: 1, min: 1, max: 1);
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));

        // Past the ticks right after the instance came up (its meter's start), nothing changes.
        await ticks.WaitAsync(2, "two ticks");
        var version = await VersionAsync(sim, id);
        await ticks.WaitAsync(3, "three more ticks");

        Assert.Equal(version, await VersionAsync(sim, id));
        Assert.Equal(1, (await sim.Grains.GetGrain<IDeploymentGrain>(id).Get())!.RunningInstances);
    }

    /// <summary>The deployment's saved version (the storage's ETag): unchanged means not written.</summary>
    static async Task<string?> VersionAsync(SimulatedCluster sim, string deployId) =>
        (await StoredDeployment.ReadAsync(sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress), sim.Grains.GetGrain<IDeploymentGrain>(deployId).GetGrainId())).ETag;
}

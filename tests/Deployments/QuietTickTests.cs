using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace DeepDeploy.Tests.Deployments;

/// <summary>A deployment whose instances run as wanted: its ticks change nothing, so they write nothing (session 13's
/// profile at 2,000 deployments: each tick wrote the unchanged state, 1,000 writes per second).</summary>
public sealed class QuietTickTests
{
    [Fact]
    public async Task A_tick_that_changes_nothing_does_not_write_the_deployment()
    {
        var renewals = 0;
        await using var sim = await SimulatedCluster.StartAsync(new SimulatedClusterOptions
        {
            Silos = 1,
            Nodes = 1,
            InMemoryStorage = true,
            // Every tick renews the meters of the deployment's instances: a renewal is a tick seen.
            Silo = silo => silo.AddIncomingGrainCallFilter(context =>
            {
                if (context.InterfaceMethod.DeclaringType == typeof(IBillingLedgerGrain) && context.InterfaceMethod.Name == nameof(IBillingLedgerGrain.Renew))
                {
                    Interlocked.Increment(ref renewals);
                }

                return context.Invoke();
            }),
        });
        await sim.NodesRegistered;
        await sim.CreateUserAsync("rita", gpuLimit: 8);
        var id = await sim.DeployAsync("rita", "steady", numGpus: 1, min: 1, max: 1);
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));

        // The tick after the instance came up meters it (a change); from the next one on, nothing changes.
        var metered = Volatile.Read(ref renewals);
        await Eventually.TrueAsync(() => Volatile.Read(ref renewals) >= metered + 2, TimeSpan.FromSeconds(20), "two ticks");
        var version = await VersionAsync(sim, id);
        var seen = Volatile.Read(ref renewals);
        await Eventually.TrueAsync(() => Volatile.Read(ref renewals) >= seen + 3, TimeSpan.FromSeconds(20), "three more ticks");

        Assert.Equal(version, await VersionAsync(sim, id));
        Assert.Equal(1, (await sim.Grains.GetGrain<IDeploymentGrain>(id).Get())!.RunningInstances);
    }

    /// <summary>The deployment's saved version (the storage's ETag): unchanged means not written.</summary>
    static async Task<string?> VersionAsync(SimulatedCluster sim, string deployId)
    {
        var storage = sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
        var saved = new GrainState<DeploymentState>(new DeploymentState());
        await storage.ReadStateAsync("deployment", sim.Grains.GetGrain<IDeploymentGrain>(deployId).GetGrainId(), saved);
        return saved.ETag;
    }
}

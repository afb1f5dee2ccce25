using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Grains;

/// <summary>The deployments' use of reminders (on the embedded SQLite reminder table): a live deployment holds a
/// reminder, a deleted one lets it go.</summary>
public sealed class DeploymentReminderTests
{
    [Fact]
    public async Task A_live_deployment_holds_a_reminder_and_a_deleted_one_lets_it_go()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);
        await sim.CreateUserAsync("wes", gpuLimit: 8);
        var id = await sim.DeployAsync("wes", "kept", numGpus: 1, min: 1, max: 1);
        var table = sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress).GetRequiredService<IReminderTable>();
        var grainId = sim.Grains.GetGrain<IDeploymentGrain>(id).GetGrainId();
        await Eventually.TrueAsync(async () => (await table.ReadRows(grainId)).Reminders.Count == 1, TimeSpan.FromSeconds(30), "the reminder registered");

        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        Assert.True(await sim.Grains.GetGrain<IDeploymentGrain>(id).Delete());
        await Eventually.TrueAsync(async () => (await table.ReadRows(grainId)).Reminders.Count == 0, TimeSpan.FromSeconds(30), "the reminder removed");
    }
}

using DeepDeploy.Contracts.Capacity;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>Partial fulfilment under scarcity on a TestingHost cluster (one simulated node of 8 GPUs): deployments run
/// what fits and say why the rest waits, GPUs that free up go to the user holding fewer, and a waiting deployment grows
/// when capacity frees.</summary>
public sealed class FairCapacityTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Scarce_GPUs_go_to_the_user_holding_fewer_and_the_rest_grows_when_they_free()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 1);
        await sim.CreateUserAsync("alice", gpuLimit: 100);
        await sim.CreateUserAsync("bob", gpuLimit: 100);
        var a1 = await sim.DeployAsync("alice", "a1", numGpus: 1, min: 6, max: 6);
        await sim.WaitForAsync(a1, v => v.RunningInstances == 6, Timeout);

        // bob wants 4 and gets the 2 that fit; the deploy object says so.
        var b1 = await sim.DeployAsync("bob", "b1", numGpus: 1, min: 4, max: 4);
        var partial = await sim.WaitForAsync(b1, v => v.RunningInstances == 2 && v.PendingReason is not null, Timeout);
        Assert.Equal(2, partial.PendingInstances);
        Assert.StartsWith("running 2 of wanted 4 instances: ", partial.PendingReason);
        Assert.Contains(SimulatedCluster.Gpu, partial.PendingReason);

        // alice (6 GPUs) asks for 2 more after bob (2 GPUs): she is above her share and waits.
        var a2 = await sim.DeployAsync("alice", "a2", numGpus: 1, min: 2, max: 2);
        await sim.WaitForAsync(a2, v => v.PendingReason is not null, Timeout);
        var arbiter = sim.Grains.GetGrain<ICapacityArbiterGrain>(SimulatedCluster.Gpu);
        // A grant made from the arbiter's registry view (up to 250 ms old) that could not be placed counts for bob until
        // it returns (6 s), so his holding settles at 2 rather than reading 2 at once.
        var queue = await Eventually.MatchAsync(() => arbiter.Queue(), q => q.Select(w => w.OwnerGpus).SequenceEqual([2, 6]),
            Timeout, "both waiting, bob holding 2 and alice 6");
        Assert.Equal([b1, a2], queue.Select(w => w.DeployId));

        // alice gives back 2 GPUs: both go to bob (2 < 4), whoever asks first; alice's new deployment still waits.
        Assert.Null((await sim.Grains.GetGrain<IDeploymentGrain>(a1).UpdateSettings(4, 4)).Error);
        await sim.WaitForAsync(b1, v => v.RunningInstances == 4 && v.PendingReason is null, Timeout);
        var waiting = await sim.Grains.GetGrain<IDeploymentGrain>(a2).Get();
        Assert.Equal(0, waiting!.RunningInstances);
        // Alone in line now, it is granted and finds no node, or still waits for its grant: either way it says so.
        Assert.StartsWith("running 0 of wanted 2 instances: ", waiting.PendingReason);
        Assert.Contains(SimulatedCluster.Gpu, waiting.PendingReason);

        // alice's first deployment goes: her second grows into the freed GPUs and says nothing waits any more.
        Assert.True(await sim.Grains.GetGrain<IDeploymentGrain>(a1).Delete());
        await sim.WaitForAsync(a2, v => v.RunningInstances == 2 && v.PendingReason is null, Timeout);
        var events = await Eventually.MatchAsync(
            async () => (await sim.Grains.GetGrain<IEventLogGrain>(a2).Read(null, 500)).Events.Where(e => e.Kind == DeploymentEventKind.CapacityWait).ToList(),
            e => e.Count >= 2 && e[^1].Message.StartsWith("no instance waits", StringComparison.Ordinal), Timeout, "a2's capacity events");
        Assert.StartsWith("running 0 of wanted 2 instances: waiting for a free", events[0].Message);
        Assert.Equal("no instance waits any more: running 2, wanted 2", events[^1].Message);
        Assert.Empty(await arbiter.Queue());
    }
}

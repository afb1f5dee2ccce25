using System.Diagnostics;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Cluster;

/// <summary>Placement, scaling and node loss on a TestingHost cluster of simulated GPU nodes.</summary>
public sealed class ClusterControlTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_lost_node_s_instances_are_placed_again_on_other_nodes()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 4);
        await sim.CreateUserAsync("olga", gpuLimit: 100);
        var id = await sim.DeployAsync("olga", "spread", numGpus: 2, min: 3, max: 3);
        await sim.WaitForAsync(id, v => v.RunningInstances == 3, TimeSpan.FromSeconds(30));

        // Replicas spread: three instances on three different nodes.
        var hosting = sim.Cluster.Silos.Where(s => sim.Agent(s).Running.Count > 0).ToList();
        Assert.Equal(3, hosting.Count);
        Assert.All(hosting, s => Assert.Single(sim.Agent(s).Running));

        var victim = hosting.First(s => s != sim.Cluster.Silos[0]);
        var victimNode = sim.Agent(victim).NodeName;
        var clock = Stopwatch.StartNew();
        await sim.Cluster.KillSiloAsync(victim);

        var survivors = sim.Cluster.Silos.Where(s => s != victim).ToList();
        await Eventually.TrueAsync(() => survivors.Sum(s => sim.Agent(s).Running.Count) == 3, TimeSpan.FromSeconds(60), "a replacement placed on a surviving node");

        output.WriteLine($"silo killed → replacement placed on a surviving node: {clock.ElapsedMilliseconds} ms");
        var healed = await sim.WaitForAsync(id, v => v.RunningInstances == 3, TimeSpan.FromSeconds(10));
        Assert.Equal(0, healed.PendingInstances);
        Assert.Equal(3, survivors.Count(s => sim.Agent(s).Running.Count == 1));
        var nodes = await sim.Grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).List();
        Assert.DoesNotContain(nodes, n => n.Node == victimNode);
        Assert.Equal(3 * 2, nodes.Sum(n => SimulatedCluster.GpusPerNode - n.Free[SimulatedCluster.Gpu]));
    }

    [Fact]
    public async Task Grains_place_a_sequence_of_instances_like_a_central_best_fit()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 3);
        await sim.CreateUserAsync("paul", gpuLimit: 1000);
        var random = new Random(11);
        int[] sizes = [1, 2, 4, 8];
        var sequence = Enumerable.Range(0, 14).Select(_ => sizes[random.Next(sizes.Length)]).ToArray();

        var free = Enumerable.Range(0, 3).Select(_ => SimulatedCluster.GpusPerNode).ToArray();
        var expected = 0;
        var placed = 0;
        for (var i = 0; i < sequence.Length; i++)
        {
            var size = sequence[i];
            var best = Enumerable.Range(0, 3).Where(n => free[n] >= size).OrderBy(n => free[n] - size).Cast<int?>().FirstOrDefault();
            if (best is { } n)
            {
                free[n] -= size;
                expected += size;
            }

            // Where the central best fit places an instance, the grains must too; where it does not, the instance is pending.
            var id = await sim.DeployAsync("paul", $"seq-{i}", size, min: 1, max: 1);
            var view = best is null
                ? (await sim.Grains.GetGrain<IDeploymentGrain>(id).Get())!
                : await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(10));
            Assert.Equal(best is null ? 1 : 0, view.PendingInstances);
            placed += view.RunningInstances * size;
        }

        var used = (await sim.Grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).List())
            .Sum(node => SimulatedCluster.GpusPerNode - node.Free[SimulatedCluster.Gpu]);
        output.WriteLine($"sequence [{string.Join(",", sequence)}] on 3 × 8 GPUs: placed {placed} GPUs, central best fit {expected}");
        Assert.Equal(expected, placed);
        Assert.Equal(expected, used);
    }

    [Fact]
    public async Task Load_scales_up_to_max_then_down_after_the_cooldown_and_to_zero_when_idle()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 2, autoscaler: o =>
        {
            o.ScaleDownCooldown = TimeSpan.FromSeconds(2);
            o.IdleBeforeScaleToZero = TimeSpan.FromSeconds(3);
            o.DrainDelay = TimeSpan.FromMilliseconds(200);
        });
        await sim.CreateUserAsync("quinn", gpuLimit: 100);
        var id = await sim.DeployAsync("quinn", "elastic", numGpus: 1, min: 0, max: 3, maxBatchSize: 4);
        var deployment = sim.Grains.GetGrain<IDeploymentGrain>(id);
        Assert.Equal(0, (await sim.WaitForAsync(id, v => v.Status == DeploymentStatus.Running, TimeSpan.FromSeconds(10))).RunningInstances);

        // 10 requests in flight or waiting with max_batch_size 4 at 80% utilization → ceil(10 / 3.2) = 4, capped at max 3.
        var clock = Stopwatch.StartNew();
        await deployment.ReportLoad(new GatewayLoad("gw-1", 4, 6, 0));
        await sim.WaitForAsync(id, v => v.RunningInstances == 3, TimeSpan.FromSeconds(10));
        output.WriteLine($"load reported → 3 instances running: {clock.ElapsedMilliseconds} ms");
        await deployment.ReportLoad(new GatewayLoad("gw-1", 12, 40, 5));
        var capped = (await deployment.Get())!;
        Assert.Equal(3, capped.RunningInstances + capped.PendingInstances);

        // Load falls to 3 (one instance's worth): one remains, and not before the cooldown passed.
        var fell = Stopwatch.StartNew();
        await deployment.ReportLoad(new GatewayLoad("gw-1", 3, 0, 0));
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(15));
        Assert.True(fell.Elapsed >= TimeSpan.FromSeconds(2), $"scaled down after {fell.Elapsed}, before the 2 s cooldown");

        // No load at all: after the idle window, down to zero; a cold-start request brings one back.
        await deployment.ReportLoad(new GatewayLoad("gw-1", 0, 0, 0));
        await sim.WaitForAsync(id, v => v.RunningInstances == 0 && v.Status == DeploymentStatus.Running, TimeSpan.FromSeconds(20));
        await deployment.RequestInstance();
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(10));
    }
}

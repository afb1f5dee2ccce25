using System.Diagnostics;
using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Tests.Cluster;
using DeepDeploy.Tests.Support;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Nodes;

/// <summary>The node lease on a TestingHost cluster: the simulated node agents send no heartbeat, so the test reports
/// for one node and then falls silent, as a stalled host would while its silo still answers membership probes.</summary>
public sealed class NodeLeaseClusterTests(ITestOutputHelper output)
{
    static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_node_that_stops_reporting_loses_its_instances_billed_to_its_last_report_and_must_register_again()
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 2);
        await sim.CreateUserAsync("lena", gpuLimit: 16);
        var id = await sim.DeployAsync("lena", "leased", numGpus: 1, min: 1, max: 1);
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));
        var host = sim.Cluster.Silos.Single(s => sim.Agent(s).Running.Count == 1);
        var other = sim.Cluster.Silos.Single(s => s != host);
        var node = sim.Agent(host).NodeName;
        var registry = sim.Grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);

        Assert.True(await registry.Report(node, Lease));
        var lastReport = (await registry.LastReport(node))!.Value;
        var clock = Stopwatch.StartNew();

        await Eventually.TrueAsync(() => sim.Agent(other).Running.Count == 1, TimeSpan.FromSeconds(30), "a replacement on the other node");
        output.WriteLine($"last report → replacement placed on the other node: {clock.ElapsedMilliseconds} ms (lease {Lease.TotalSeconds} s)");
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(10));

        // The decision, as the deployment's events tell it.
        var lost = await Eventually.MatchAsync(
            async () => (await sim.Grains.GetGrain<IEventLogGrain>(id).Read(null, 100)).Events.FirstOrDefault(e => e.Kind == DeploymentEventKind.Failed && e.Node == node),
            e => e is not null, TimeSpan.FromSeconds(10), "the lost instance's event");
        Assert.Equal("node lease expired", lost!.FailureReason);

        // Billed until the last report, not until the lease ran out: nothing in the lease after it (the replacement
        // only started after that), something before it.
        var ledger = sim.Grains.GetGrain<IBillingLedgerGrain>("lena");
        await Eventually.TrueAsync(async () => (await ledger.GetUsage(lastReport.AddHours(-1), lastReport)).Lines.Sum(l => l.Seconds) > 0,
            TimeSpan.FromSeconds(10), "the lost instance billed until its node's last report");
        Assert.Equal(0m, (await ledger.GetUsage(lastReport, lastReport + Lease)).Lines.Sum(l => l.Seconds));

        // Out of placement and refused until it registers again; then every GPU is free and nothing is double-booked.
        Assert.DoesNotContain(await registry.List(), n => n.Node == node);
        var overview = sim.Grains.GetGrain<INodeOverviewGrain>(0);
        var lostView = (await overview.List()).Single(n => n.Node == node);
        Assert.Equal(NodeState.Lost, lostView.State);
        Assert.Equal(lastReport, lostView.LastReport);
        Assert.Equal(NodeState.Live, (await overview.List()).Single(n => n.Node != node).State);
        Assert.False(await registry.Report(node, Lease));
        var info = new NodeInfo(node, Simulated: true, Enumerable.Range(0, SimulatedCluster.GpusPerNode)
            .Select(i => new GpuDevice(i, SimulatedCluster.Gpu, 80 * 1024)).ToArray());
        var stale = await sim.Grains.GetGrain<IGpuNodeGrain>(node).Register(info);
        Assert.Single(stale);
        Assert.True(await registry.Report(node, TimeSpan.FromMinutes(5)));
        var nodes = await registry.List();
        Assert.Equal(SimulatedCluster.GpusPerNode, nodes.Single(n => n.Node == node).Free[SimulatedCluster.Gpu]);
        Assert.Equal(1, nodes.Sum(n => SimulatedCluster.GpusPerNode - n.Free[SimulatedCluster.Gpu]));
        Assert.Equal(1, (await sim.Grains.GetGrain<IDeploymentGrain>(id).Get())!.RunningInstances);
        var back = (await overview.List()).Single(n => n.Node == node);
        Assert.Equal(NodeState.Live, back.State);
        Assert.All(back.Gpus!, g => Assert.Null(g.InstanceId));
    }
}

using System.Collections.Immutable;
using System.Net;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Events;
using DeepDeploy.Tests.Cluster;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepDeploy.Tests.Deployments;

/// <summary>The silo a node answered a start from is held by the instance's lifecycle until its first report saves it
/// (CreateWritesTests): meanwhile an instance whose node's silo the cluster declares dead is still lost at once.</summary>
public sealed class InstanceSiloTests
{
    static readonly SiloAddress Dead = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 40001), 1);
    static readonly SiloAddress Alive = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 40002), 1);

    [Fact]
    public async Task An_instance_whose_node_s_silo_dies_before_its_first_report_is_lost_and_a_report_records_the_silo()
    {
        await using var sim = await SimulatedCluster.StartAsync(new SimulatedClusterOptions { Silos = 1, Nodes = 1, InMemoryStorage = true });
        await sim.CreateUserAsync("rita", gpuLimit: 8);
        var deployId = DeploymentIds.New();
        var state = new DeploymentState
        {
            Spec = SimulatedCluster.Request("rita", "silos", min: 2, max: 2).Spec,
            Status = DeploymentStatus.Deploying,
            Commit = new string('a', 40),
            WeightsFile = "model.gguf",
        };
        foreach (var (seq, node) in new[] { (1, "node-a"), (2, "node-b") })
        {
            state.Instances[$"{deployId}-{seq}"] = new InstanceRecord { Id = $"{deployId}-{seq}", Node = node, Phase = InstancePhase.Placed, Seq = seq };
        }

        var lifecycle = new InstanceLifecycle(deployId, sim.Grains, TimeProvider.System,
            new DeploymentMeter(deployId, sim.Grains, TimeProvider.System, new GpuPrices(), NullLogger.Instance),
            () => new DeploymentEvents(deployId, "rita", sim.Grains, TimeProvider.System, NullLogger.Instance), NullLogger.Instance);
        lifecycle.Started([new NodeAllocation($"{deployId}-1", deployId, [0], Dead), new NodeAllocation($"{deployId}-2", deployId, [0], Alive)]);
        var snapshot = new ClusterMembershipSnapshot(ImmutableDictionary<SiloAddress, ClusterMember>.Empty
            .Add(Dead, new ClusterMember(Dead, SiloStatus.Dead, "gone"))
            .Add(Alive, new ClusterMember(Alive, SiloStatus.Active, "here")), new MembershipVersion(2));

        await lifecycle.ForgetLostAsync(state, snapshot);

        var left = Assert.Single(state.Instances.Values);
        Assert.Equal($"{deployId}-2", left.Id);
        Assert.Contains("node-a", state.TroubledNodes.Keys);
        Assert.Null(left.Silo);
        Assert.True(await lifecycle.ApplyAsync(state, new InstanceUpdate(left.Id, InstancePhase.Running, "http://node-b.invalid/2", null)));
        Assert.Equal(Alive, left.Silo);
    }
}

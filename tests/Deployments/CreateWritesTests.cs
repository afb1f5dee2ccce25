using System.Collections.Concurrent;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Tests.Deployments;

/// <summary>What a create writes of its deployment until its first instance runs. Session 13's scale benchmark counted
/// 7 writes per create in the one SQLite writer's queue (the tick before the weights, the weights, the silos after the
/// nodes answered, the meter's flag); three are needed: the create, the placement's intents (with the weights and the
/// status) before any node is asked, and the instance's first report (with its node's silo).</summary>
public sealed class CreateWritesTests
{
    [Fact]
    public async Task A_create_writes_its_deployment_three_times_until_its_instance_runs_and_not_again_for_its_meter()
    {
        var saved = new ConcurrentQueue<Saved>();
        var ticks = new TickCounter();
        await using var sim = await SimulatedCluster.StartAsync(new SimulatedClusterOptions
        {
            Silos = 1,
            Nodes = 1,
            InMemoryStorage = true,
            Silo = silo =>
            {
                RecordingGrainStorage.Around(silo, StorageNames.Default, (_, grain, state) =>
                {
                    if (state is DeploymentState deployment)
                    {
                        saved.Enqueue(Saved.Of(grain, deployment));
                    }
                });
                ticks.Filter(silo);
            },
        });
        await sim.NodesRegistered;
        await sim.CreateUserAsync("rita", gpuLimit: 8);
        var id = await sim.DeployAsync("rita", "three-writes", numGpus: 1, min: 1, max: 1);
        await sim.WaitForAsync(id, v => v.RunningInstances == 1, TimeSpan.FromSeconds(30));

        // The tick after the instance came up starts its meter on the ledger, and the one after renews it: neither writes.
        await ticks.WaitAsync(2, "two ticks");

        var grain = sim.Grains.GetGrain<IDeploymentGrain>(id).GetGrainId();
        var writes = saved.Where(s => s.Grain == grain).ToList();
        Assert.Equal(3, writes.Count);
        Assert.Equal(new Saved(grain, DeploymentStatus.Initializing, false, []), writes[0]);
        Assert.Equal(new Saved(grain, DeploymentStatus.Deploying, true, [$"{id}-1 Placed"]), writes[1]);
        Assert.Equal(new Saved(grain, DeploymentStatus.Running, true, [$"{id}-1 Running on its silo"]), writes[2]);
    }

    /// <summary>The durability rule the placement keeps (InstancePlacer): a node is asked to start an instance only once
    /// the instance is saved, and with it the weights the node is told to load, so that an activation that dies meanwhile
    /// comes back knowing the instance (and its GPUs on the owner's quota) instead of placing it twice.</summary>
    [Fact]
    public async Task A_node_is_asked_to_start_an_instance_only_once_the_instance_and_its_weights_are_saved()
    {
        var asked = new ConcurrentQueue<(string Instance, Saved? Stored)>();
        await using var sim = await SimulatedCluster.StartAsync(new SimulatedClusterOptions
        {
            Silos = 1,
            Nodes = 1,
            InMemoryStorage = true,
            Silo = silo => silo.AddIncomingGrainCallFilter(async context =>
            {
                if (context.InterfaceMethod.DeclaringType == typeof(IGpuNodeGrain) && context.InterfaceMethod.Name == nameof(IGpuNodeGrain.StartInstance)
                    && context.Request.GetArgument(0) is InstanceLaunch launch)
                {
                    var grain = context.TargetContext.ActivationServices.GetRequiredService<IGrainFactory>().GetGrain<IDeploymentGrain>(launch.DeployId).GetGrainId();
                    var stored = await StoredDeployment.ReadAsync(context.TargetContext.ActivationServices, grain);
                    asked.Enqueue((launch.InstanceId, stored.RecordExists ? Saved.Of(grain, stored.State!) : null));
                }

                await context.Invoke();
            }),
        });
        await sim.NodesRegistered;
        await sim.CreateUserAsync("rita", gpuLimit: 8);
        var id = await sim.DeployAsync("rita", "saved-first", numGpus: 2, min: 2, max: 2);
        await sim.WaitForAsync(id, v => v.RunningInstances == 2, TimeSpan.FromSeconds(30));

        Assert.Equal(2, asked.Count);
        Assert.All(asked, a =>
        {
            Assert.NotNull(a.Stored);
            Assert.True(a.Stored.Weights);
            Assert.Contains($"{a.Instance} Placed", a.Stored.Instances);
        });
    }

    /// <summary>What one write saved of a deployment: its status, whether its weights are known, and each instance's
    /// id, phase and whether its node's silo is recorded.</summary>
    sealed record Saved(GrainId Grain, DeploymentStatus Status, bool Weights, string[] Instances)
    {
        public static Saved Of(GrainId grain, DeploymentState state) => new(grain, state.Status, state.Commit is not null,
            state.Instances.Values.OrderBy(i => i.Seq).Select(i => $"{i.Id} {i.Phase}{(i.Silo is null ? "" : " on its silo")}").ToArray());

        public bool Equals(Saved? other) => other is not null && Grain == other.Grain && Status == other.Status && Weights == other.Weights
            && Instances.SequenceEqual(other.Instances);

        public override int GetHashCode() => HashCode.Combine(Grain, Status, Weights, Instances.Length);
    }
}

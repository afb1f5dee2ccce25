using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Grains;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Users;
using DeepDeploy.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Storage;

namespace DeepDeploy.Tests.Deployments;

/// <summary>A scale-up's instances placed at once on a TestingHost cluster of two simulated 8-GPU nodes (real quota,
/// registry, arbiter-free placement and node grains): one state write records every intent before the nodes are asked,
/// and whatever was not placed (the owner's limit, the fair share, full nodes) gives exactly its reservation back; a
/// tick that cannot place does not reserve at all.</summary>
public sealed class ScaleUpPlacementTests
{
    const string User = "team";

    [Fact]
    public async Task A_scale_up_records_its_instances_with_one_write_and_releases_only_what_it_did_not_place()
    {
        await using var sim = await SimulatedCluster.StartAsync(new SimulatedClusterOptions { Silos = 1, Nodes = 2, InMemoryStorage = true });
        await sim.NodesRegistered;
        await sim.CreateUserAsync(User, gpuLimit: 100);

        // The fair share grants 1 of 3: the other two give their reservations back and the refusal says why.
        var shared = await PlaceAsync(sim, User, numGpus: 1, count: 3, granted: 1);
        Assert.Single(shared.Placed);
        Assert.Equal(1, shared.Saves);
        Assert.Equal("waiting in the test's line", shared.Placer.Refusal);
        Assert.True(shared.Placer.WaitsForCapacity);
        Assert.Equal(1, await ReservedAsync(sim, User));

        // Four instances of 2 GPUs fit: one write, spread two and two over the nodes, each answered with its node's silo
        // (saved with the instance's first report: CreateWritesTests).
        var fits = await PlaceAsync(sim, User, numGpus: 2, count: 4);
        Assert.Equal(4, fits.Placed.Count);
        Assert.Equal(1, fits.Saves);
        Assert.Null(fits.Placer.Refusal);
        Assert.Equal([2, 2], fits.State.Instances.Values.GroupBy(i => i.Node).Select(g => g.Count()));
        Assert.All(fits.Placed, p => Assert.NotNull(p.Silo));
        Assert.Equal(4, fits.State.NextInstance);
        Assert.Equal(1 + 8, await ReservedAsync(sim, User));

        // 3 + 4 GPUs are free now: of three 4-GPU instances one fits; the two the node refused are forgotten and released.
        var full = await PlaceAsync(sim, User, numGpus: 4, count: 3);
        Assert.Single(full.Placed);
        Assert.Equal([full.Placed[0].InstanceId], full.State.Instances.Keys);
        Assert.Equal($"no node has 4 free {SimulatedCluster.Gpu} GPU(s)", full.Placer.Refusal);
        Assert.True(full.Placer.WaitsForCapacity);
        Assert.Equal(1 + 8 + 4, await ReservedAsync(sim, User));

        // An owner with room for 2 of 3 instances: the third is never reserved, and the limit is the reason.
        await sim.CreateUserAsync("small", gpuLimit: 2);
        var limited = await PlaceAsync(sim, "small", numGpus: 1, count: 3);
        Assert.Equal(2, limited.Placed.Count);
        Assert.Equal("the owner's GPU limit is reached", limited.Placer.Refusal);
        Assert.False(limited.Placer.WaitsForCapacity);
        Assert.Equal(2, await ReservedAsync(sim, "small"));
    }

    /// <summary>Session 10: every tick of a deployment waiting for GPUs reserved its instances on the owner's quota (a
    /// state write) and released them (another), and those writes queued on the quota grain of 20 deployments' owner.</summary>
    [Fact]
    public async Task A_deployment_waiting_for_gpus_does_not_write_its_owners_quota_on_its_ticks()
    {
        await using var sim = await SimulatedCluster.StartAsync(new SimulatedClusterOptions { Silos = 1, Nodes = 2, InMemoryStorage = true });
        await sim.NodesRegistered;
        await sim.CreateUserAsync(User, gpuLimit: 100);
        Assert.Equal(2, (await PlaceAsync(sim, User, numGpus: 8, count: 2)).Placed.Count);
        var version = await QuotaVersionAsync(sim, User);

        // Three ticks with every node full, then three with the fair share granting nothing.
        var (placer, state) = NewDeployment(sim, User, numGpus: 1, count: 2);
        foreach (var granted in new int?[] { null, null, null, 0, 0, 0 })
        {
            var tick = await PlaceAsync(placer, state, count: 2, granted);
            Assert.Empty(tick.Placed);
            Assert.True(placer.WaitsForCapacity, placer.Refusal);
        }

        Assert.Equal(version, await QuotaVersionAsync(sim, User));
        Assert.Equal(16, await ReservedAsync(sim, User));
    }

    static async Task<Placement> PlaceAsync(SimulatedCluster sim, string user, int numGpus, int count, int? granted = null)
    {
        var (placer, state) = NewDeployment(sim, user, numGpus, count);
        return await PlaceAsync(placer, state, count, granted);
    }

    static (InstancePlacer Placer, DeploymentState State) NewDeployment(SimulatedCluster sim, string user, int numGpus, int count)
    {
        var deployId = DeploymentIds.New();
        var state = new DeploymentState
        {
            Spec = SimulatedCluster.Request(user, deployId, numGpus, min: count, max: count).Spec,
            Status = DeploymentStatus.Deploying,
            Commit = new string('a', 40),
            WeightsFile = "model.gguf",
        };
        return (new InstancePlacer(deployId, sim.Grains, TimeProvider.System, new DeploymentOptions(), NullLogger.Instance), state);
    }

    static async Task<Placement> PlaceAsync(InstancePlacer placer, DeploymentState state, int count, int? granted)
    {
        var saves = 0;
        var placed = await placer.PlaceAsync(state, count, save: () =>
        {
            // The intents are recorded before any node is asked: none has an answer (its silo) yet.
            Assert.All(state.Instances.Values, i => Assert.Equal(InstancePhase.Placed, i.Phase));
            Assert.All(state.Instances.Values, i => Assert.Null(i.Silo));
            saves++;
            return Task.CompletedTask;
        }, mayPlace: n => Task.FromResult(granted is { } g ? (g, (string?)"waiting in the test's line") : (n, null)));
        return new Placement(placer, state, placed, saves);
    }

    /// <summary>The quota's saved version (the storage's ETag): unchanged means not written.</summary>
    static async Task<string?> QuotaVersionAsync(SimulatedCluster sim, string user)
    {
        var storage = sim.Cluster.GetSiloServiceProvider(sim.Cluster.Silos[0].SiloAddress).GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
        var saved = new GrainState<UserQuotaState>(new UserQuotaState());
        await storage.ReadStateAsync("user", sim.Grains.GetGrain<IUserQuotaGrain>(user).GetGrainId(), saved);
        return saved.ETag;
    }

    static async Task<int> ReservedAsync(SimulatedCluster sim, string user) =>
        (await sim.Grains.GetGrain<IUserQuotaGrain>(user).Get())!.GpusReserved;

    sealed record Placement(InstancePlacer Placer, DeploymentState State, IReadOnlyList<Contracts.Nodes.NodeAllocation> Placed, int Saves);
}

using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Storage;
using DeepDeploy.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Nodes;

/// <summary>One GPU host: which instance holds which GPU. Persisted, so that after a restart it knows which
/// instances were lost with their processes.</summary>
[NodeHostPlacement, KeepAlive]
public sealed class GpuNodeGrain(
    [PersistentState("node", StorageNames.Default)] IPersistentState<GpuNodeState> state,
    DeepCopier<GpuNodeState> copier,
    IServiceProvider services,
    ILocalSiloDetails silo,
    IGrainFactory grains,
    ControlPlaneMetrics metrics,
    TimeProvider time,
    ILogger<GpuNodeGrain> log) : Grain, IGpuNodeGrain
{
    readonly SavedState<GpuNodeState> _store = new(state, copier);

    /// <summary>How often a capacity push the registry did not take is tried again.</summary>
    public static readonly TimeSpan PushRetry = TimeSpan.FromSeconds(1);

    /// <summary>A registration the registry has not taken yet: the next push is a join.</summary>
    bool _joinPending;

    IGrainTimer? _pushRetry;

    /// <summary>When this activation last placed an instance (in memory: it only explains refusals in the metrics).</summary>
    DateTimeOffset? _lastPlaced;

    // Resolved lazily: only silos that host a GPU node have an agent, and placement brings us only there.
    INodeAgent Agent => services.GetRequiredService<INodeAgent>();

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.RemoveNode(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<NodeAllocation>> Register(NodeInfo info)
    {
        var stale = _store.State.Allocations.Values.ToList();
        _store.State.Info = info;
        _store.State.Allocations.Clear();
        await _store.WriteAsync();
        await PublishCapacityAsync(join: true);
        return stale;
    }

    public async Task<NodeAllocation?> StartInstance(InstanceLaunch launch)
    {
        if (_store.State.Allocations.TryGetValue(launch.InstanceId, out var existing))
        {
            metrics.InstanceStart("already_placed");
            return existing;
        }

        var info = _store.State.Info ?? throw new InvalidOperationException($"GPU node '{this.GetPrimaryKeyString()}' has not registered.");
        var held = _store.State.Allocations.Values.SelectMany(a => a.GpuIndices).ToHashSet();
        var free = info.Gpus.Where(g => g.Type == launch.Gpu && !held.Contains(g.Index)).Select(g => g.Index).Order().ToList();
        if (free.Count < launch.NumGpus)
        {
            // Lost a race to another placement (the GPUs went within a registry hold's length), or the registry's view was
            // stale. The push ends the registry's hold for this start (PlacementHolds: holds beyond the free GPUs go).
            metrics.InstanceStart(time.GetUtcNow() - _lastPlaced < PlacementHolds.HoldFor ? "taken_recently" : "no_room");
            await PublishCapacityAsync();
            return null;
        }

        var allocation = new NodeAllocation(launch.InstanceId, launch.DeployId, free.Take(launch.NumGpus).ToArray(), silo.SiloAddress, launch.ModelName);
        _store.State.Allocations[launch.InstanceId] = allocation;
        await _store.WriteAsync();
        _lastPlaced = time.GetUtcNow();
        metrics.InstanceStart("placed");
        Agent.Launch(launch, allocation.GpuIndices);
        await PublishCapacityAsync();
        return allocation;
    }

    public Task<bool> StopInstance(string instanceId)
    {
        if (!_store.State.Allocations.TryGetValue(instanceId, out var allocation))
        {
            return Task.FromResult(false);
        }

        // The agent reports the instance gone even when its process had already ended, so the GPUs are always released.
        Agent.Stop(instanceId, allocation.DeployId);
        return Task.FromResult(true);
    }

    public async Task InstanceGone(string instanceId)
    {
        if (_store.State.Allocations.Remove(instanceId))
        {
            await _store.WriteAsync();
            await PublishCapacityAsync();
        }
    }

    public Task<NodeCapacity?> GetCapacity() => Task.FromResult(Capacity());

    public Task<IReadOnlyList<GpuHolding>?> GetGpus()
    {
        if (_store.State.Info is not { } info)
        {
            return Task.FromResult<IReadOnlyList<GpuHolding>?>(null);
        }

        var holders = _store.State.Allocations.Values.SelectMany(a => a.GpuIndices.Select(i => (Index: i, Allocation: a)))
            .ToDictionary(h => h.Index, h => h.Allocation);
        return Task.FromResult<IReadOnlyList<GpuHolding>?>(info.Gpus.OrderBy(g => g.Index)
            .Select(g => holders.TryGetValue(g.Index, out var a)
                ? new GpuHolding(g.Index, g.Type, g.MemoryMiB, a.InstanceId, a.DeployId, a.Model)
                : new GpuHolding(g.Index, g.Type, g.MemoryMiB, null, null, null))
            .ToArray());
    }

    public Task<IReadOnlyList<InstanceLog>> GetLogs(string deployId, int lines) => Task.FromResult(Agent.GetLogs(deployId, lines));

    NodeCapacity? Capacity()
    {
        var info = _store.State.Info;
        if (info is null)
        {
            return null;
        }

        var held = _store.State.Allocations.Values.SelectMany(a => a.GpuIndices).ToHashSet();
        var total = info.Gpus.GroupBy(g => g.Type).ToDictionary(g => g.Key, g => g.Count());
        var free = info.Gpus.GroupBy(g => g.Type).ToDictionary(g => g.Key, g => g.Count(d => !held.Contains(d.Index)));
        var deployments = _store.State.Allocations.Values.Select(a => a.DeployId).Distinct().Order(StringComparer.Ordinal).ToArray();
        return new NodeCapacity(info.Name, info.Simulated, total, free, silo.SiloAddress, deployments, info.Engines);
    }

    /// <summary><paramref name="join"/>: the agent registered, so a node the registry held lost is live again.</summary>
    Task PublishCapacityAsync(bool join = false)
    {
        _joinPending |= join;
        return PushCapacityAsync(CancellationToken.None);
    }

    /// <summary>Tells the registry the node's current capacity. The change it reports is already saved and done (an
    /// engine may be starting), so a push that fails — the registry's silo just died, its storage is away — must not
    /// fail the command: it is tried again every <see cref="PushRetry"/> with the capacity of that moment, until the
    /// registry has it.</summary>
    async Task PushCapacityAsync(CancellationToken cancellationToken)
    {
        if (Capacity() is not { } capacity)
        {
            return;
        }

        metrics.SetGpus(capacity);
        var registry = grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key);
        try
        {
            await (_joinPending ? registry.Join(capacity) : registry.Update(capacity));
            _joinPending = false;
            _pushRetry?.Dispose();
            _pushRetry = null;
        }
        catch (Exception e)
        {
            log.LogWarning(e, "GPU node {Node}: the node registry did not take its capacity; trying again every {Retry}", capacity.Node, PushRetry);
            _pushRetry ??= this.RegisterGrainTimer(PushCapacityAsync, new GrainTimerCreationOptions(PushRetry, PushRetry));
        }
    }
}

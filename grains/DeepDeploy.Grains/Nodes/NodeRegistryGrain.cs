using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Storage;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Nodes;

/// <summary>The capacity view placement reads. Node grains push their free GPUs here on every change.</summary>
public sealed class NodeRegistryGrain(
    [PersistentState("registry", StorageNames.Default)] IPersistentState<NodeRegistryState> state,
    DeepCopier<NodeRegistryState> copier,
    IClusterMembershipService membership) : Grain, INodeRegistryGrain
{
    readonly SavedState<NodeRegistryState> _store = new(state, copier);

    public Task Update(NodeCapacity capacity)
    {
        _store.State.Nodes[capacity.Node] = capacity;
        return _store.WriteAsync();
    }

    public Task<IReadOnlyList<string>> FindNodes(string gpuType, int numGpus, IReadOnlyDictionary<string, int> replicasOnNode, IReadOnlyList<string> avoid) =>
        Task.FromResult(PlacementPolicy.Rank(Live(), gpuType, numGpus, replicasOnNode, avoid));

    public Task<IReadOnlyList<NodeCapacity>> List() =>
        Task.FromResult<IReadOnlyList<NodeCapacity>>(Live().OrderBy(n => n.Node, StringComparer.Ordinal).ToArray());

    public Task<IReadOnlyList<string>> DeploymentsOn(IReadOnlyList<SiloAddress> silos) =>
        Task.FromResult<IReadOnlyList<string>>(_store.State.Nodes.Values
            .Where(n => n.Silo is not null && silos.Contains(n.Silo))
            .SelectMany(n => n.Deployments ?? [])
            .Distinct()
            .ToArray());

    /// <summary>Nodes whose silo the cluster does not hold dead. A lost node leaves the view at once and comes
    /// back when its silo registers it again.</summary>
    IEnumerable<NodeCapacity> Live() =>
        _store.State.Nodes.Values.Where(n => n.Silo is null || membership.CurrentSnapshot.GetSiloStatus(n.Silo) != SiloStatus.Dead);
}

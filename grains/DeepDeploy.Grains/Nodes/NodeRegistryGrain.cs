using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>The capacity view placement reads. Node grains push their free GPUs here on every change.</summary>
public sealed class NodeRegistryGrain(
    [PersistentState("registry", StorageNames.Default)] IPersistentState<NodeRegistryState> state) : Grain, INodeRegistryGrain
{
    public Task Update(NodeCapacity capacity)
    {
        state.State.Nodes[capacity.Node] = capacity;
        return state.WriteStateAsync();
    }

    public Task<IReadOnlyList<string>> FindNodes(string gpuType, int numGpus)
    {
        // Best fit: the node left with the fewest free GPUs of the type keeps large holes for large instances.
        IReadOnlyList<string> nodes = state.State.Nodes.Values
            .Select(n => (n.Node, Free: n.Free.GetValueOrDefault(gpuType)))
            .Where(n => n.Free >= numGpus)
            .OrderBy(n => n.Free - numGpus)
            .ThenBy(n => n.Node, StringComparer.Ordinal)
            .Select(n => n.Node)
            .ToArray();
        return Task.FromResult(nodes);
    }

    public Task<IReadOnlyList<NodeCapacity>> List() =>
        Task.FromResult<IReadOnlyList<NodeCapacity>>(state.State.Nodes.Values.OrderBy(n => n.Node, StringComparer.Ordinal).ToArray());
}

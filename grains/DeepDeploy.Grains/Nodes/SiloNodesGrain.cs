using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Storage;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Nodes;

/// <summary>One silo's nodes and their deployments, written by its node grains when a deployment comes to or leaves a
/// node (not on every GPU change), read by <see cref="LostNodeWaker"/> when the silo dies. A record per silo keeps each
/// write the size of one host's nodes, not of the fleet. A registry that comes up reads the live silos' records.</summary>
public sealed class SiloNodesGrain(
    [PersistentState("silo-nodes", StorageNames.Default)] IPersistentState<SiloNodesState> state,
    DeepCopier<SiloNodesState> copier) : Grain, ISiloNodesGrain
{
    readonly SavedState<SiloNodesState> _store = new(state, copier);

    public async Task Set(string node, IReadOnlyList<string> deployments)
    {
        if (_store.State.Deployments.TryGetValue(node, out var saved) && saved.SequenceEqual(deployments, StringComparer.Ordinal))
        {
            return;
        }

        _store.State.Deployments[node] = [.. deployments];
        await _store.WriteAsync();
    }

    public Task<IReadOnlyList<string>> Nodes() => Task.FromResult<IReadOnlyList<string>>(_store.State.Deployments.Keys.ToArray());

    public Task<IReadOnlyList<string>> Deployments() =>
        Task.FromResult<IReadOnlyList<string>>(_store.State.Deployments.Values.SelectMany(d => d).Distinct(StringComparer.Ordinal).ToArray());

    public async Task Forget()
    {
        await state.ClearStateAsync();
        DeactivateOnIdle();
    }
}

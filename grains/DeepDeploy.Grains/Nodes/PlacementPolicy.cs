using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// Where an instance goes. Only nodes with enough free GPUs of the type qualify (all GPUs of an instance sit
/// on one node). Among them, in order: nodes that recently failed this deployment's instances last; then
/// fewest replicas of this deployment (spread, so one node's loss takes few of them); then best fit — the
/// fewest free GPUs left over — so that large instances keep finding whole nodes; then by name.
/// </summary>
public static class PlacementPolicy
{
    public static IReadOnlyList<string> Rank(
        IEnumerable<NodeCapacity> nodes,
        string gpuType,
        int numGpus,
        IReadOnlyDictionary<string, int>? replicasOnNode = null,
        IReadOnlyCollection<string>? avoid = null) =>
        nodes
            .Select(n => (n.Node, Free: n.Free.GetValueOrDefault(gpuType)))
            .Where(n => n.Free >= numGpus)
            .OrderBy(n => avoid?.Contains(n.Node) == true ? 1 : 0)
            .ThenBy(n => replicasOnNode?.GetValueOrDefault(n.Node) ?? 0)
            .ThenBy(n => n.Free - numGpus)
            .ThenBy(n => n.Node, StringComparer.Ordinal)
            .Select(n => n.Node)
            .ToArray();
}

using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// The registry's in-memory capacity view, indexed by GPU type and free GPUs, so that placement visits only the best
/// candidates instead of scanning and sorting the fleet. <see cref="Rank"/> returns the first <c>limit</c> nodes of
/// <see cref="PlacementPolicy.Rank"/>'s order (the reference; tests/Placement checks they agree).
/// </summary>
public sealed class CapacityView
{
    static readonly Comparer<(int Free, string Node)> ByFreeThenName =
        Comparer<(int Free, string Node)>.Create((a, b) => a.Free != b.Free ? a.Free.CompareTo(b.Free) : string.CompareOrdinal(a.Node, b.Node));

    readonly Dictionary<string, NodeCapacity> _nodes = new(StringComparer.Ordinal);
    readonly Dictionary<string, SortedSet<(int Free, string Node)>> _byType = new(StringComparer.Ordinal);

    public int Count => _nodes.Count;

    public IEnumerable<NodeCapacity> Nodes => _nodes.Values;

    public bool TryGet(string node, out NodeCapacity capacity) => _nodes.TryGetValue(node, out capacity!);

    public void Set(NodeCapacity capacity)
    {
        if (_nodes.TryGetValue(capacity.Node, out var old))
        {
            foreach (var (gpu, free) in old.Free)
            {
                _byType[gpu].Remove((free, old.Node));
            }
        }

        _nodes[capacity.Node] = capacity;
        foreach (var (gpu, free) in capacity.Free)
        {
            if (!_byType.TryGetValue(gpu, out var index))
            {
                _byType[gpu] = index = new SortedSet<(int Free, string Node)>(ByFreeThenName);
            }

            index.Add((free, capacity.Node));
        }
    }

    /// <summary>The best <paramref name="limit"/> nodes for an instance, in <see cref="PlacementPolicy"/>'s order, among
    /// those <paramref name="isLive"/> accepts. Nodes without this deployment's replicas and not to be avoided come
    /// straight from the index (best fit, then name); the few others are ranked after them by the policy.</summary>
    public IReadOnlyList<string> Rank(string gpuType, int numGpus, IReadOnlyDictionary<string, int> replicasOnNode,
        IReadOnlyCollection<string> avoid, Func<NodeCapacity, bool> isLive, int limit)
    {
        if (!_byType.TryGetValue(gpuType, out var index) || index.Count == 0 || index.Max.Free < numGpus)
        {
            return [];
        }

        var result = new List<string>(Math.Min(limit, 16));
        foreach (var (_, node) in index.GetViewBetween((numGpus, ""), index.Max))
        {
            if (result.Count == limit)
            {
                return result;
            }

            if (replicasOnNode.GetValueOrDefault(node) <= 0 && !avoid.Contains(node) && isLive(_nodes[node]))
            {
                result.Add(node);
            }
        }

        var penalized = replicasOnNode.Where(r => r.Value > 0).Select(r => r.Key).Concat(avoid)
            .Distinct(StringComparer.Ordinal)
            .Select(node => _nodes.GetValueOrDefault(node))
            .Where(n => n is not null && n.Free.GetValueOrDefault(gpuType) >= numGpus && isLive(n))
            .Select(n => n!);
        result.AddRange(PlacementPolicy.Rank(penalized, gpuType, numGpus, replicasOnNode, avoid).Take(limit - result.Count));
        return result;
    }
}

using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// The registry's in-memory capacity view, indexed by GPU type and free GPUs, so that placement visits only the best
/// candidates instead of scanning and sorting the fleet. <see cref="Rank"/> returns the first <c>limit</c> nodes of
/// <see cref="PlacementPolicy.Rank"/>'s order (the reference; tests/Placement checks they agree).
/// GPUs handed out by <see cref="Hold"/> count as taken until the node's own push shows them taken (its free GPUs of
/// that type drop by at least the held count) or <see cref="HoldFor"/> passes, so that concurrent placements spread
/// over nodes instead of all racing for the same best fit. The node grain stays the arbiter: a hold only orders.
/// </summary>
public sealed class CapacityView(TimeProvider time)
{
    /// <summary>How long a hold counts without the node's push: longer than a loaded start's round trip, short enough
    /// that a placement that never reached the node (its caller failed) costs little.</summary>
    public static readonly TimeSpan HoldFor = TimeSpan.FromSeconds(10);

    static readonly Comparer<(int Free, string Node)> ByFreeThenName =
        Comparer<(int Free, string Node)>.Create((a, b) => a.Free != b.Free ? a.Free.CompareTo(b.Free) : string.CompareOrdinal(a.Node, b.Node));

    sealed class Held(string node, string gpu, int count, DateTimeOffset until)
    {
        public string Node => node;
        public string Gpu => gpu;
        public int Count => count;
        public DateTimeOffset Until => until;
        public bool Released { get; set; }
    }

    /// <summary>Each node as it last pushed (or answered).</summary>
    readonly Dictionary<string, NodeCapacity> _nodes = new(StringComparer.Ordinal);

    /// <summary>Per GPU type, (free less held, node): what placement ranks.</summary>
    readonly Dictionary<string, SortedSet<(int Free, string Node)>> _byType = new(StringComparer.Ordinal);

    /// <summary>Per node, the entries it has in <see cref="_byType"/>, to take them out exactly.</summary>
    readonly Dictionary<string, Dictionary<string, int>> _indexed = new(StringComparer.Ordinal);

    /// <summary>Per node, its holds oldest first; and every hold in the order it expires.</summary>
    readonly Dictionary<string, List<Held>> _holds = new(StringComparer.Ordinal);
    readonly Queue<Held> _expiring = new();

    public int Count => _nodes.Count;

    public IEnumerable<NodeCapacity> Nodes => _nodes.Values;

    /// <summary>GPUs held on nodes and not yet shown taken by them.</summary>
    public int HeldGpus => _holds.Values.Sum(h => h.Sum(x => x.Count));

    public bool TryGet(string node, out NodeCapacity capacity) => _nodes.TryGetValue(node, out capacity!);

    /// <summary>A node's capacity from the node. The drop in its free GPUs of a type since its last push releases that
    /// many of the type's holds, oldest first.</summary>
    public void Set(NodeCapacity capacity)
    {
        if (_nodes.TryGetValue(capacity.Node, out var old) && _holds.TryGetValue(capacity.Node, out var holds))
        {
            foreach (var (gpu, before) in old.Free)
            {
                var taken = before - capacity.Free.GetValueOrDefault(gpu);
                foreach (var hold in holds.Where(h => h.Gpu == gpu).ToList())
                {
                    if (hold.Count > taken)
                    {
                        break;
                    }

                    taken -= hold.Count;
                    Release(hold);
                }
            }
        }

        _nodes[capacity.Node] = capacity;
        Expire();
        Index(capacity.Node);
    }

    /// <summary>Counts <paramref name="count"/> GPUs of <paramref name="gpu"/> on <paramref name="node"/> as taken: the
    /// placement that was just given the node as its first choice is about to start there.</summary>
    public void Hold(string node, string gpu, int count)
    {
        if (!_nodes.ContainsKey(node))
        {
            return;
        }

        var hold = new Held(node, gpu, count, time.GetUtcNow() + HoldFor);
        if (!_holds.TryGetValue(node, out var holds))
        {
            _holds[node] = holds = [];
        }

        holds.Add(hold);
        _expiring.Enqueue(hold);
        Index(node);
    }

    /// <summary>The best <paramref name="limit"/> nodes for an instance, in <see cref="PlacementPolicy"/>'s order (on free
    /// GPUs less those held), among those <paramref name="isLive"/> accepts. Nodes without this deployment's replicas and
    /// not to be avoided come straight from the index (best fit, then name); the few others are ranked after them by
    /// the policy.</summary>
    public IReadOnlyList<string> Rank(string gpuType, int numGpus, IReadOnlyDictionary<string, int> replicasOnNode,
        IReadOnlyCollection<string> avoid, Func<NodeCapacity, bool> isLive, int limit)
    {
        Expire();
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
            .Where(n => n is not null && isLive(n))
            .Select(n => n! with { Free = _indexed[n!.Node] });
        result.AddRange(PlacementPolicy.Rank(penalized, gpuType, numGpus, replicasOnNode, avoid).Take(limit - result.Count));
        return result;
    }

    void Expire()
    {
        var now = time.GetUtcNow();
        while (_expiring.TryPeek(out var hold) && hold.Until <= now)
        {
            _expiring.Dequeue();
            if (!hold.Released)
            {
                Release(hold);
                Index(hold.Node);
            }
        }
    }

    void Release(Held hold)
    {
        hold.Released = true;
        var holds = _holds[hold.Node];
        holds.Remove(hold);
        if (holds.Count == 0)
        {
            _holds.Remove(hold.Node);
        }
    }

    /// <summary>Puts a node in the index at its free GPUs less its holds.</summary>
    void Index(string node)
    {
        if (_indexed.TryGetValue(node, out var entries))
        {
            foreach (var (gpu, free) in entries)
            {
                _byType[gpu].Remove((free, node));
            }
        }

        var holds = _holds.GetValueOrDefault(node);
        var effective = _nodes[node].Free.ToDictionary(f => f.Key,
            f => Math.Max(0, f.Value - (holds?.Where(h => h.Gpu == f.Key).Sum(h => h.Count) ?? 0)), StringComparer.Ordinal);
        _indexed[node] = effective;
        foreach (var (gpu, free) in effective)
        {
            if (!_byType.TryGetValue(gpu, out var index))
            {
                _byType[gpu] = index = new SortedSet<(int Free, string Node)>(ByFreeThenName);
            }

            index.Add((free, node));
        }
    }
}

using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// The GPUs the registry just handed out, so that concurrent placements stop racing for the same node: without them,
/// every placement ranked before the first one's node pushes its new capacity gets the same best fit, and all but
/// one are refused by the node and try the next. <see cref="Rank"/> holds a candidate's GPUs for each instance the
/// caller places (round the candidates, as <c>InstancePlacer</c> gives them out; session 10 held only the first
/// candidate, and a caller placing several instances raced others for the rest: 6 <c>StartInstance</c> calls per
/// placement at 1,000 nodes). A hold counts as taken in the ranking until that node's push shows them taken (its free
/// GPUs of the type drop by the held count, oldest hold first) or <see cref="HoldFor"/> passes. Holds live in the
/// registry's memory only: they order placements, never change what the registry lists or saves; the node grain's
/// reservation stays the arbiter.
/// </summary>
public sealed class PlacementHolds(TimeProvider time)
{
    /// <summary>How long a hold counts without the node's push: a loaded placement's round trip (reserve the quota,
    /// record the intent, start on the node, the node's push) stays under it (at 1,000 nodes on 2 loaded cores it took
    /// seconds, longer than the 2 s of session 10), and a placement that never reached the node (its caller failed)
    /// keeps those GPUs out of the ranking for no longer.</summary>
    public static readonly TimeSpan HoldFor = TimeSpan.FromSeconds(5);

    readonly Dictionary<string, List<(string Gpu, int Count, DateTimeOffset Until)>> _held = new(StringComparer.Ordinal);

    /// <summary>GPUs held and not yet shown taken by their nodes (or expired).</summary>
    public int HeldGpus
    {
        get
        {
            Expire();
            return _held.Values.Sum(h => h.Sum(x => x.Count));
        }
    }

    /// <summary><see cref="PlacementPolicy.Rank"/> over the nodes' free GPUs less those held; then, for each of
    /// <paramref name="instances"/> given round the candidates, that candidate's <paramref name="numGpus"/> GPUs are
    /// held for the caller while it has them free (a candidate a second instance would not fit is not held twice).</summary>
    public IReadOnlyList<string> Rank(IEnumerable<NodeCapacity> nodes, string gpuType, int numGpus,
        IReadOnlyDictionary<string, int>? replicasOnNode = null, IReadOnlyCollection<string>? avoid = null, int instances = 1)
    {
        Expire();
        var view = (_held.Count == 0 ? nodes : nodes.Select(LessHeld)).ToList();
        var ranked = PlacementPolicy.Rank(view, gpuType, numGpus, replicasOnNode, avoid);
        if (ranked.Count == 0)
        {
            return ranked;
        }

        var given = ranked.Take(instances).ToHashSet(StringComparer.Ordinal);
        var free = view.Where(n => given.Contains(n.Node)).ToDictionary(n => n.Node, n => n.Free.GetValueOrDefault(gpuType), StringComparer.Ordinal);
        var until = time.GetUtcNow() + HoldFor;
        for (var i = 0; i < instances; i++)
        {
            var node = ranked[i % ranked.Count];
            if (free[node] < numGpus)
            {
                continue;
            }

            free[node] -= numGpus;
            if (!_held.TryGetValue(node, out var holds))
            {
                _held[node] = holds = [];
            }

            holds.Add((gpuType, numGpus, until));
        }

        return ranked;
    }

    /// <summary>A node pushed its capacity: the drop in its free GPUs of a type since <paramref name="before"/> releases
    /// that many of the type's holds there, oldest first (a hold larger than what is left of the drop stays).</summary>
    public void Pushed(NodeCapacity? before, NodeCapacity now)
    {
        if (!_held.TryGetValue(now.Node, out var holds))
        {
            return;
        }

        if (before is null)
        {
            _held.Remove(now.Node);
            return;
        }

        foreach (var gpu in holds.Select(h => h.Gpu).Distinct(StringComparer.Ordinal).ToList())
        {
            var taken = before.Free.GetValueOrDefault(gpu) - now.Free.GetValueOrDefault(gpu);
            foreach (var hold in holds.Where(h => h.Gpu == gpu).ToList())
            {
                if (hold.Count > taken)
                {
                    break;
                }

                taken -= hold.Count;
                holds.Remove(hold);
            }
        }

        if (holds.Count == 0)
        {
            _held.Remove(now.Node);
        }
    }

    NodeCapacity LessHeld(NodeCapacity node) =>
        _held.TryGetValue(node.Node, out var holds)
            ? node with
            {
                Free = node.Free.ToDictionary(f => f.Key, f => Math.Max(0, f.Value - holds.Where(h => h.Gpu == f.Key).Sum(h => h.Count)), StringComparer.Ordinal),
            }
            : node;

    void Expire()
    {
        var now = time.GetUtcNow();
        foreach (var (node, holds) in _held.ToList())
        {
            holds.RemoveAll(h => h.Until <= now);
            if (holds.Count == 0)
            {
                _held.Remove(node);
            }
        }
    }
}

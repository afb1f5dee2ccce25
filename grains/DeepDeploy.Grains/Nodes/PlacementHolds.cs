using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// The GPUs the registry just handed out, so that concurrent placements stop racing for the same node: without them,
/// every placement ranked before the first one's node pushes its new capacity gets the same best fit, and all but
/// one are refused by the node and try the next. <see cref="Rank"/> holds its first candidate's GPUs for the caller;
/// a hold counts as taken in the ranking until that node's push shows them taken (its free GPUs of the type drop by
/// the held count, oldest hold first) or <see cref="HoldFor"/> passes. Holds live in the registry's memory only:
/// they order placements, never change what the registry lists or saves; the node grain's reservation stays the
/// arbiter.
/// </summary>
public sealed class PlacementHolds(TimeProvider time)
{
    /// <summary>How long a hold counts without the node's push: a loaded placement's round trip (record the intent,
    /// start on the node, the node's push) stays well under it, and a placement that never reached the node (its
    /// caller failed) keeps those GPUs out of the ranking for no longer.</summary>
    public static readonly TimeSpan HoldFor = TimeSpan.FromSeconds(2);

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

    /// <summary><see cref="PlacementPolicy.Rank"/> over the nodes' free GPUs less those held; the first candidate's
    /// <paramref name="numGpus"/> GPUs are then held for the caller, who starts its instance there.</summary>
    public IReadOnlyList<string> Rank(IEnumerable<NodeCapacity> nodes, string gpuType, int numGpus,
        IReadOnlyDictionary<string, int>? replicasOnNode = null, IReadOnlyCollection<string>? avoid = null)
    {
        Expire();
        var ranked = PlacementPolicy.Rank(_held.Count == 0 ? nodes : nodes.Select(LessHeld), gpuType, numGpus, replicasOnNode, avoid);
        if (ranked.Count > 0)
        {
            if (!_held.TryGetValue(ranked[0], out var holds))
            {
                _held[ranked[0]] = holds = [];
            }

            holds.Add((gpuType, numGpus, time.GetUtcNow() + HoldFor));
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

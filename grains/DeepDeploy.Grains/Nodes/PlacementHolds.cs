using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// The GPUs the registry just handed out, so that concurrent placements stop racing for the same node: without them,
/// every placement ranked before the first one's node pushes its new capacity gets the same best fit, and all but
/// one are refused by the node and try the next. <see cref="Rank"/> holds a candidate's GPUs for each instance the
/// caller places (round the candidates, as <c>InstancePlacer</c> gives them out; session 10 held only the first
/// candidate, and a caller placing several instances raced others for the rest: 6 <c>StartInstance</c> calls per
/// placement at 1,000 nodes). A hold lasts until the placement's start reaches the node, whatever its answer: the
/// node pushes its capacity after every start, and a push releases the holds its drop in free GPUs of the type covers
/// (oldest first) and then those beyond what the node still has free (newest first: a start refused, or GPUs another
/// caller took). <see cref="HoldFor"/> only bounds a hold whose start never comes (its caller failed). Holds live in
/// the registry's memory only: they order placements, never change what the registry lists or saves; the node
/// grain's reservation stays the arbiter.
/// </summary>
public sealed class PlacementHolds(TimeProvider time)
{
    /// <summary>How long a hold counts when no push of its node comes: a placement that never reached the node (its
    /// caller failed) keeps those GPUs out of the ranking for no longer. Not the placement's round trip any more (reserve
    /// the quota, record the intent, start on the node, the node's push), which the push ends: session 12 held 5 s and
    /// saw most refusals come from holds that ran out first (the ranking p50 8.9 s old at a refusal, at 1,000 nodes).</summary>
    public static readonly TimeSpan HoldFor = TimeSpan.FromSeconds(30);

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
    /// that many of the type's holds there, oldest first (a hold larger than what is left of the drop stays); then holds
    /// beyond the node's free GPUs of the type go, newest first: their starts were refused or will be.</summary>
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

            var free = now.Free.GetValueOrDefault(gpu);
            for (var i = holds.Count - 1; i >= 0 && holds.Where(h => h.Gpu == gpu).Sum(h => h.Count) > free; i--)
            {
                if (holds[i].Gpu == gpu)
                {
                    holds.RemoveAt(i);
                }
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

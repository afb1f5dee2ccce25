using DeepDeploy.Contracts.Capacity;

namespace DeepDeploy.Grains.Capacity;

/// <summary>
/// The capacity arbiter's memory and its fairness rule, apart from the grain so that it runs on any clock.
/// Each round gives the free GPUs, one instance at a time, to the waiting deployment whose owner holds the fewest
/// GPUs of the type (counting what the round already gave), ties by the longest wait (max-min fair, water-filling).
/// When that deployment's instance fits no node's free GPUs, the node closest to holding it (most free GPUs) is
/// reserved for it: owners holding more may not take GPUs there, so what frees up gathers for it and a large instance
/// is not starved by small ones; the round goes on elsewhere (backfill). A grant holds its GPUs in the arbiter's view
/// until the deployment asks again or <see cref="GrantTtl"/> passes.
/// </summary>
public sealed class FairShareLedger(string gpu)
{
    /// <summary>A waiting deployment asks every tick (2 s); one silent this long stopped waiting.</summary>
    public static readonly TimeSpan WaiterTtl = TimeSpan.FromSeconds(10);

    /// <summary>Holdings are re-sent every two minutes; one not heard of this long is forgotten.</summary>
    public static readonly TimeSpan HoldingTtl = TimeSpan.FromMinutes(5);

    /// <summary>A grant not acted on within three ticks goes back to the pool.</summary>
    public static readonly TimeSpan GrantTtl = TimeSpan.FromSeconds(6);

    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public void Record(CapacityClaim claim, DateTimeOffset now)
    {
        if (claim.Instances == 0 && claim.Wanted == 0)
        {
            _entries.Remove(claim.DeployId);
            return;
        }

        var entry = _entries.TryGetValue(claim.DeployId, out var known) ? known : _entries[claim.DeployId] = new Entry();
        entry.Claim = claim;
        entry.SeenAt = now;
        entry.Granted = 0; // it asks again: what it was granted is placed (in Live) or given up
        entry.WaitingSince = claim.Wanted > claim.Live ? entry.WaitingSince ?? now : null;
    }

    /// <summary>One round over <paramref name="nodes"/> (free and total GPUs of the type per live node); the answer for
    /// <paramref name="deployId"/>, recorded just before.</summary>
    public CapacityGrant Grant(string deployId, IReadOnlyList<(int Free, int Total)> nodes, DateTimeOffset now)
    {
        Expire(now);
        if (!_entries.TryGetValue(deployId, out var asker))
        {
            // Withdrawn (it wants nothing any more) while the arbiter read the registry: nothing to grant.
            return CapacityGrant.None;
        }

        var largest = nodes.Select(n => n.Total).DefaultIfEmpty(0).Max();
        if (asker.Claim.GpusPerInstance > largest)
        {
            // No node could ever hold it (or none of the type joined yet): placement says so and times out.
            return new CapacityGrant(asker.Claim.Wanted - asker.Claim.Live, 0, null);
        }

        var free = nodes.Select(n => n.Free).ToList();
        var totals = nodes.Select(n => n.Total).ToList();
        var reserved = nodes.Select(_ => int.MaxValue).ToList();
        var shares = Shares();
        foreach (var granted in _entries.Values.Where(e => e.Granted > 0))
        {
            for (var i = 0; i < granted.Granted; i++)
            {
                Take(free, reserved, granted.Claim.GpusPerInstance, int.MinValue);
            }
        }

        var waiting = Waiting(largest).ToList();
        var blocked = new List<Entry>();
        while (waiting.Count > 0)
        {
            var head = waiting.MinBy(e => Order(e, shares))!;
            var share = shares[head.Claim.Owner];
            if (!Take(free, reserved, head.Claim.GpusPerInstance, share))
            {
                Reserve(free, totals, reserved, head.Claim.GpusPerInstance, share);
                waiting.Remove(head);
                blocked.Add(head);
                continue;
            }

            head.Granted++;
            head.GrantedAt = now;
            shares[head.Claim.Owner] += head.Claim.GpusPerInstance;
            if (head.Claim.Live + head.Granted >= head.Claim.Wanted)
            {
                waiting.Remove(head);
            }
        }

        if (asker.Granted > 0)
        {
            return new CapacityGrant(asker.Granted, 0, null);
        }

        // Ahead: those the next free GPUs go to first, and those holding grants they have not placed yet.
        waiting.AddRange(blocked);
        var ahead = waiting.Count(e => e != asker && Order(e, shares).CompareTo(Order(asker, shares)) < 0)
            + _entries.Values.Count(e => e.Granted > 0 && !waiting.Contains(e));
        var need = asker.Claim.GpusPerInstance == 1 ? $"a free {gpu} GPU" : $"{asker.Claim.GpusPerInstance} free {gpu} GPUs on one node";
        return new CapacityGrant(0, ahead, ahead == 0
            ? $"waiting for {need}; next in line"
            : $"waiting for {need}; {ahead} deployment(s) ahead in line (owners holding fewer {gpu} GPUs go first, then the longest waiting)");
    }

    /// <summary>The waiting deployments, in the order the next free GPUs go to them.</summary>
    public IReadOnlyList<CapacityWaiter> Queue(DateTimeOffset now)
    {
        Expire(now);
        var shares = Shares();
        return _entries.Values.Where(e => e.WaitingSince is not null).OrderBy(e => Order(e, shares))
            .Select(e => new CapacityWaiter(e.Claim.DeployId, e.Claim.Owner, shares[e.Claim.Owner], e.Claim.GpusPerInstance,
                e.Claim.Live, e.Claim.Wanted, e.WaitingSince!.Value, e.Granted))
            .ToList();
    }

    /// <summary>GPUs of the type per owner: every instance its deployments hold, and grants not placed yet.</summary>
    Dictionary<string, int> Shares()
    {
        var shares = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in _entries.Values)
        {
            shares[e.Claim.Owner] = shares.GetValueOrDefault(e.Claim.Owner) + (e.Claim.Instances + e.Granted) * e.Claim.GpusPerInstance;
        }

        return shares;
    }

    IEnumerable<Entry> Waiting(int largest) =>
        _entries.Values.Where(e => e.WaitingSince is not null && e.Claim.GpusPerInstance <= largest && e.Claim.Live + e.Granted < e.Claim.Wanted);

    static (int Share, DateTimeOffset Since, string DeployId) Order(Entry e, Dictionary<string, int> shares) =>
        (shares[e.Claim.Owner], e.WaitingSince ?? DateTimeOffset.MaxValue, e.Claim.DeployId);

    /// <summary>Takes <paramref name="gpus"/> from the node they fit best (least left over) among those not reserved
    /// against an owner holding <paramref name="share"/>; false when none has them.</summary>
    static bool Take(List<int> free, List<int> reserved, int gpus, int share)
    {
        var best = -1;
        for (var i = 0; i < free.Count; i++)
        {
            if (free[i] >= gpus && share <= reserved[i] && (best < 0 || free[i] < free[best]))
            {
                best = i;
            }
        }

        if (best < 0)
        {
            return false;
        }

        free[best] -= gpus;
        return true;
    }

    /// <summary>Keeps the node with the most free GPUs among those large enough for a blocked instance against owners
    /// holding more than its owner's <paramref name="share"/>.</summary>
    static void Reserve(List<int> free, List<int> totals, List<int> reserved, int gpus, int share)
    {
        var best = -1;
        for (var i = 0; i < free.Count; i++)
        {
            if (totals[i] >= gpus && (best < 0 || free[i] > free[best]))
            {
                best = i;
            }
        }

        if (best >= 0)
        {
            reserved[best] = Math.Min(reserved[best], share);
        }
    }

    void Expire(DateTimeOffset now)
    {
        foreach (var (id, e) in _entries.ToList())
        {
            if (now - e.SeenAt > HoldingTtl)
            {
                _entries.Remove(id);
                continue;
            }

            if (e.Granted > 0 && now - e.GrantedAt > GrantTtl)
            {
                e.Granted = 0;
            }

            if (e.WaitingSince is not null && now - e.SeenAt > WaiterTtl)
            {
                e.WaitingSince = null;
            }
        }
    }

    sealed class Entry
    {
        public CapacityClaim Claim = null!;
        public DateTimeOffset SeenAt;
        public DateTimeOffset? WaitingSince;
        public int Granted;
        public DateTimeOffset GrantedAt;
    }
}

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// The node agents' heartbeats, in the registry's memory: each report renews its node's lease for the length the
/// node asked for (a few of its report intervals). A node that has never reported has no lease (it is watched by
/// cluster membership alone), and after the registry moves to another silo every node's lease starts again
/// with its next report.
/// <para>The registry must not read a stall of its own as the loss of the fleet (<see cref="NodeRegistryOptions"/>):
/// a check that runs late extends every lease by its lateness (no report could be heard while the registry was not
/// running), a check loses at most a share of the nodes per lease period, and none when most would go at once.</para>
/// </summary>
public sealed class NodeLeases(TimeProvider time, NodeRegistryOptions options)
{
    /// <summary><paramref name="Grace"/>: how late the checks ran since the last report, added to the lease.</summary>
    readonly record struct Held(DateTimeOffset LastReport, TimeSpan Lease, TimeSpan Grace);

    readonly Dictionary<string, Held> _leases = new(StringComparer.Ordinal);

    /// <summary>When leases were taken in the last lease period (for <see cref="NodeRegistryOptions.MaxExpiredShare"/>).</summary>
    readonly Queue<DateTimeOffset> _recentlyExpired = new();

    public void Renew(string node, TimeSpan lease) => _leases[node] = new Held(time.GetUtcNow(), lease, TimeSpan.Zero);

    public DateTimeOffset? LastReport(string node) => _leases.TryGetValue(node, out var lease) ? lease.LastReport : null;

    public TimeSpan? Lease(string node) => _leases.TryGetValue(node, out var lease) ? lease.Lease : null;

    public void Forget(string node) => _leases.Remove(node);

    /// <summary>Nodes whose lease ran out, with their last report, longest silent first; they are forgotten until they
    /// report again. <paramref name="due"/>: when this check should have run; a check that runs later first extends
    /// every lease by its lateness.</summary>
    public ExpiredLeases TakeExpired(DateTimeOffset? due = null)
    {
        var now = time.GetUtcNow();
        if (due is { } scheduled && now > scheduled)
        {
            foreach (var (node, held) in _leases.ToArray())
            {
                _leases[node] = held with { Grace = held.Grace + (now - scheduled) };
            }
        }

        var overdue = _leases.Where(l => now - l.Value.LastReport > l.Value.Lease + l.Value.Grace)
            .OrderBy(l => l.Value.LastReport)
            .ThenBy(l => l.Key, StringComparer.Ordinal)
            .ToList();
        if (overdue.Count == 0)
        {
            return ExpiredLeases.None;
        }

        if (overdue.Count >= options.StallMinNodes && overdue.Count > options.StallShare * _leases.Count)
        {
            return new ExpiredLeases([], overdue.Count, StallSuspected: true);
        }

        var period = overdue.Max(l => l.Value.Lease);
        while (_recentlyExpired.TryPeek(out var at) && now - at >= period)
        {
            _recentlyExpired.Dequeue();
        }

        var allowed = Math.Max(1, (int)(options.MaxExpiredShare * _leases.Count)) - _recentlyExpired.Count;
        var lost = overdue.Take(Math.Max(0, allowed)).Select(l => (l.Key, l.Value.LastReport, l.Value.Lease)).ToList();
        foreach (var (node, _, _) in lost)
        {
            _leases.Remove(node);
            _recentlyExpired.Enqueue(now);
        }

        return new ExpiredLeases(lost, overdue.Count - lost.Count, StallSuspected: false);
    }
}

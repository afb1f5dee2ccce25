namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// The node agents' heartbeats, in the registry's memory: each report renews its node's lease for the length the
/// node asked for (a few of its report intervals). A node that has never reported has no lease (it is watched by
/// cluster membership alone), and after the registry moves to another silo every node's lease starts again
/// with its next report.
/// </summary>
public sealed class NodeLeases(TimeProvider time)
{
    readonly Dictionary<string, (DateTimeOffset LastReport, TimeSpan Lease)> _leases = new(StringComparer.Ordinal);

    public void Renew(string node, TimeSpan lease) => _leases[node] = (time.GetUtcNow(), lease);

    public DateTimeOffset? LastReport(string node) => _leases.TryGetValue(node, out var lease) ? lease.LastReport : null;

    public TimeSpan? Lease(string node) => _leases.TryGetValue(node, out var lease) ? lease.Lease : null;

    public void Forget(string node) => _leases.Remove(node);

    /// <summary>Nodes whose lease ran out, with their last report; they are forgotten until they report again.</summary>
    public IReadOnlyList<(string Node, DateTimeOffset LastReport, TimeSpan Lease)> TakeExpired()
    {
        var now = time.GetUtcNow();
        var expired = _leases.Where(l => now - l.Value.LastReport > l.Value.Lease)
            .Select(l => (l.Key, l.Value.LastReport, l.Value.Lease))
            .OrderBy(l => l.Key, StringComparer.Ordinal)
            .ToList();
        foreach (var (node, _, _) in expired)
        {
            _leases.Remove(node);
        }

        return expired;
    }
}

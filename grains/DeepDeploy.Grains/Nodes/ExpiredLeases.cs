namespace DeepDeploy.Grains.Nodes;

/// <summary>What one lease check found: the nodes lost, and how many overdue leases it kept (held back by the
/// expiry rate limit or, with <paramref name="StallSuspected"/>, all of them, since most of the fleet looked lost at once).</summary>
public sealed record ExpiredLeases(IReadOnlyList<(string Node, DateTimeOffset LastReport, TimeSpan Lease)> Lost, int Kept, bool StallSuspected)
{
    public static readonly ExpiredLeases None = new([], 0, false);
}

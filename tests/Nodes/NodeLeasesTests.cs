using DeepDeploy.Grains.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Nodes;

[Trait("Category", "Unit")]
public sealed class NodeLeasesTests
{
    static readonly TimeSpan Lease = TimeSpan.FromSeconds(4);

    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_lease_holds_for_its_length_after_each_report_and_expires_after_it_with_the_last_report()
    {
        var leases = new NodeLeases(_clock, new NodeRegistryOptions());
        leases.Renew("gpu-a", Lease);
        _clock.Advance(TimeSpan.FromSeconds(3));
        leases.Renew("gpu-a", Lease);
        var lastReport = _clock.GetUtcNow();
        _clock.Advance(Lease);
        Assert.Empty(leases.TakeExpired().Lost);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var (node, last, lease) = Assert.Single(leases.TakeExpired().Lost);
        Assert.Equal(("gpu-a", lastReport, Lease), (node, last, lease));
    }

    [Fact]
    public void An_expired_lease_is_taken_once_and_a_node_that_never_reported_has_none()
    {
        var leases = new NodeLeases(_clock, new NodeRegistryOptions());
        leases.Renew("gpu-a", Lease);
        leases.Renew("gpu-b", TimeSpan.FromSeconds(30));
        _clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(["gpu-a"], leases.TakeExpired().Lost.Select(e => e.Node));
        Assert.Empty(leases.TakeExpired().Lost);
        Assert.Null(leases.LastReport("gpu-a"));
        Assert.Null(leases.LastReport("gpu-never"));
        Assert.NotNull(leases.LastReport("gpu-b"));
    }

    [Fact]
    public void A_node_that_reports_again_starts_a_new_lease_and_a_forgotten_one_has_none()
    {
        var leases = new NodeLeases(_clock, new NodeRegistryOptions());
        leases.Renew("gpu-a", Lease);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Single(leases.TakeExpired().Lost);

        leases.Renew("gpu-a", Lease);
        Assert.Equal(_clock.GetUtcNow(), leases.LastReport("gpu-a"));
        leases.Forget("gpu-a");
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(leases.TakeExpired().Lost);
    }

    static readonly TimeSpan Check = NodeRegistryGrain.LeaseCheck;

    [Fact]
    public void A_check_that_runs_late_does_not_expire_nodes_whose_reports_were_due_while_it_was_not_running()
    {
        // 100 nodes report at t0; the registry's silo stalls; its next check, due at t0 + 0.5 s, runs at t0 + 5 s,
        // before the reports the nodes sent meanwhile have been handled.
        var leases = new NodeLeases(_clock, new NodeRegistryOptions { StallShare = 1 });
        var nodes = Nodes(100);
        Array.ForEach(nodes, n => leases.Renew(n, Lease));
        var due = _clock.GetUtcNow() + Check;
        _clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Empty(leases.TakeExpired(due).Lost);

        // The stall is over: the reports arrive and every lease holds again, for its own length only.
        Array.ForEach(nodes, n => leases.Renew(n, Lease));
        _clock.Advance(Lease + TimeSpan.FromMilliseconds(1));
        Assert.Equal(10, leases.TakeExpired(_clock.GetUtcNow()).Lost.Count);
    }

    [Fact]
    public void When_most_nodes_would_expire_at_once_none_does_and_a_stall_is_suspected_else_a_share_per_lease_period()
    {
        var leases = new NodeLeases(_clock, new NodeRegistryOptions());
        var nodes = Nodes(100);
        Array.ForEach(nodes, n => leases.Renew(n, Lease));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Array.ForEach(nodes[60..], n => leases.Renew(n, Lease));
        _clock.Advance(TimeSpan.FromMilliseconds(3001));

        // 60 of 100 overdue: more than half, so none is lost.
        var stall = leases.TakeExpired();
        Assert.True(stall.StallSuspected);
        Assert.Empty(stall.Lost);
        Assert.Equal(60, stall.Kept);

        // 40 of them report after all: 20 of 100 overdue, a tenth of the reporting nodes is lost, longest silent first.
        Array.ForEach(nodes[20..60], n => leases.Renew(n, Lease));
        var capped = leases.TakeExpired();
        Assert.False(capped.StallSuspected);
        Assert.Equal(nodes[..10], capped.Lost.Select(l => l.Node));
        Assert.Equal(10, capped.Kept);

        // No more within that lease period; after it, a tenth of the 90 still reporting.
        _clock.Advance(TimeSpan.FromSeconds(2));
        Array.ForEach(nodes[20..], n => leases.Renew(n, Lease));
        Assert.Empty(leases.TakeExpired().Lost);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Array.ForEach(nodes[20..], n => leases.Renew(n, Lease));
        var next = leases.TakeExpired();
        Assert.Equal(nodes[10..19], next.Lost.Select(l => l.Node));
        Assert.Equal(1, next.Kept);
    }

    [Fact]
    public void A_single_silent_node_among_many_is_lost_as_soon_as_its_lease_runs_out()
    {
        var leases = new NodeLeases(_clock, new NodeRegistryOptions());
        var nodes = Nodes(100);
        Array.ForEach(nodes, n => leases.Renew(n, Lease));
        for (var second = 1; second <= 4; second++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            Array.ForEach(nodes[1..], n => leases.Renew(n, Lease));
            Assert.Empty(leases.TakeExpired(_clock.GetUtcNow()).Lost);
        }

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var lost = leases.TakeExpired(_clock.GetUtcNow());
        Assert.Equal(nodes[0], Assert.Single(lost.Lost).Node);
        Assert.False(lost.StallSuspected);
    }

    static string[] Nodes(int count) => Enumerable.Range(0, count).Select(i => $"gpu-{i:D3}").ToArray();
}

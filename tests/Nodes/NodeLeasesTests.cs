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
        var leases = new NodeLeases(_clock);
        leases.Renew("gpu-a", Lease);
        _clock.Advance(TimeSpan.FromSeconds(3));
        leases.Renew("gpu-a", Lease);
        var lastReport = _clock.GetUtcNow();
        _clock.Advance(Lease);
        Assert.Empty(leases.TakeExpired());

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var (node, last, lease) = Assert.Single(leases.TakeExpired());
        Assert.Equal(("gpu-a", lastReport, Lease), (node, last, lease));
    }

    [Fact]
    public void An_expired_lease_is_taken_once_and_a_node_that_never_reported_has_none()
    {
        var leases = new NodeLeases(_clock);
        leases.Renew("gpu-a", Lease);
        leases.Renew("gpu-b", TimeSpan.FromSeconds(30));
        _clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(["gpu-a"], leases.TakeExpired().Select(e => e.Node));
        Assert.Empty(leases.TakeExpired());
        Assert.Null(leases.LastReport("gpu-a"));
        Assert.Null(leases.LastReport("gpu-never"));
        Assert.NotNull(leases.LastReport("gpu-b"));
    }

    [Fact]
    public void A_node_that_reports_again_starts_a_new_lease_and_a_forgotten_one_has_none()
    {
        var leases = new NodeLeases(_clock);
        leases.Renew("gpu-a", Lease);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Single(leases.TakeExpired());

        leases.Renew("gpu-a", Lease);
        Assert.Equal(_clock.GetUtcNow(), leases.LastReport("gpu-a"));
        leases.Forget("gpu-a");
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(leases.TakeExpired());
    }
}

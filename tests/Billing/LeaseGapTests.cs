using DeepDeploy.Contracts.Billing;
using DeepDeploy.Grains.Billing;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Billing;

/// <summary>The lease gap, case by case (docs/reliability.md, "Billing across faults"): a renewal after the ledger
/// closed a meter bills the gap once when the instance served through it, and not at all when it came back in it.</summary>
public sealed class LeaseGapTests
{
    const decimal Price = 2.00m;

    [Fact]
    public async Task A_renewal_after_a_lease_gap_bills_the_gap_once_when_the_instance_served_through_it_and_never_otherwise()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var cluster = await LedgerCluster.StartAsync(silos: 1, clock);
        var ledger = cluster.Cluster.Client.GetGrain<IBillingLedgerGrain>("gap-user");
        var t0 = clock.GetUtcNow();
        await ledger.MeterStart(new MeterStart("through", "d-through", "user/through", "A100-80GB", 1, Price, t0));
        await ledger.MeterStart(new MeterStart("back", "d-back", "user/back", "A100-80GB", 1, Price, t0));
        clock.Advance(TimeSpan.FromSeconds(2));
        await ledger.Renew([new MeterRenewal("through", t0), new MeterRenewal("back", t0)], clock.GetUtcNow());

        // Nothing renews for longer than the lease: both meters are closed at their last renewal (t0 + 2 s).
        clock.Advance(BillingLedgerGrain.Lease + TimeSpan.FromSeconds(70));
        Assert.Equal(new Dictionary<string, decimal> { ["d-through"] = 2, ["d-back"] = 2 }, await SecondsAsync(ledger, t0));

        // The deployment comes back at t0 + 102 s: one instance served all along, the other runs again since t0 + 90 s.
        var back = t0.AddSeconds(90);
        await ledger.Renew([new MeterRenewal("through", t0), new MeterRenewal("back", back)], clock.GetUtcNow());
        await ledger.Renew([new MeterRenewal("through", t0), new MeterRenewal("back", back)], clock.GetUtcNow()); // a repeat counts nothing
        clock.Advance(TimeSpan.FromSeconds(8));
        await ledger.MeterStop("through", clock.GetUtcNow(), t0);
        await ledger.MeterStop("back", clock.GetUtcNow(), back);

        // through: t0 .. t0 + 110 s, the gap once. back: t0 .. t0 + 2 s and t0 + 90 s .. t0 + 110 s, the gap not at all.
        Assert.Equal(new Dictionary<string, decimal> { ["d-through"] = 110, ["d-back"] = 22 }, await SecondsAsync(ledger, t0));
    }

    static async Task<Dictionary<string, decimal>> SecondsAsync(IBillingLedgerGrain ledger, DateTimeOffset t0)
    {
        var usage = await ledger.GetUsage(t0.AddHours(-1), t0.AddHours(1));
        return usage.Lines.ToDictionary(l => l.DeployId, l => l.Seconds);
    }
}

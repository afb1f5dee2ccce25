using DeepDeploy.Contracts.Routing;
using DeepDeploy.Grains.Routing;

namespace DeepDeploy.Tests.Gateway;

/// <summary>Cold-start demand and load reports as the deployment grain keeps them.</summary>
public sealed class InstanceDemandTests
{
    static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_wake_up_keeps_one_instance_until_the_deployment_has_been_idle_long_enough()
    {
        var demand = new InstanceDemand();
        Assert.Equal(0, demand.Desired(minInstances: 0, maxInstances: 1, T0));
        demand.Request(T0);
        Assert.Equal(1, demand.Desired(0, 1, T0));
        Assert.Equal(3, demand.Desired(3, 4, T0)); // never below min_instances
        Assert.Equal(0, demand.Desired(0, 0, T0)); // never above max_instances

        // Load keeps it wanted; an idle report does not.
        demand.Report(new GatewayLoad("g1", InFlight: 2, Waiting: 0, Refused: 0), T0 + TimeSpan.FromMinutes(4));
        demand.Report(new GatewayLoad("g1", 0, 0, 0), T0 + TimeSpan.FromMinutes(6));
        Assert.Equal(1, demand.Desired(0, 1, T0 + InstanceDemand.IdleBeforeScaleToZero + TimeSpan.FromMinutes(3)));
        Assert.Equal(0, demand.Desired(0, 1, T0 + InstanceDemand.IdleBeforeScaleToZero + TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Totals_add_the_fresh_reports_of_every_gateway()
    {
        var demand = new InstanceDemand();
        demand.Report(new GatewayLoad("g1", 3, 5, 1), T0);
        demand.Report(new GatewayLoad("g2", 4, 0, 2), T0 + TimeSpan.FromSeconds(20));
        Assert.Equal((7, 5, 3L), demand.Totals(T0 + TimeSpan.FromSeconds(25)));
        Assert.Equal((4, 0, 2L), demand.Totals(T0 + InstanceDemand.ReportTtl + TimeSpan.FromSeconds(1)));
    }
}

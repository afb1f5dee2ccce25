using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Telemetry;

namespace DeepDeploy.Tests.Gateway;

/// <summary>Cold-start demand, load reports and the autoscaler's arithmetic as the deployment grain keeps them.</summary>
[Trait("Category", "Unit")]
public sealed class InstanceDemandTests
{
    static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    static readonly AutoscalerOptions Options = new();

    [Fact]
    public void A_wake_up_keeps_one_instance_until_the_deployment_has_been_idle_long_enough()
    {
        var demand = new InstanceDemand(Options);
        Assert.Equal(0, demand.Target(minInstances: 0, maxInstances: 1, maxBatchSize: 4, T0));
        demand.Request(T0);
        Assert.Equal(1, demand.Target(0, 1, 4, T0));
        Assert.Equal(3, demand.Target(3, 4, 4, T0)); // never below min_instances
        Assert.Equal(0, demand.Target(0, 0, 4, T0)); // never above max_instances

        // Load keeps it wanted; an idle report does not.
        demand.Report(new GatewayLoad("g1", InFlight: 2, Waiting: 0, Refused: 0), T0 + TimeSpan.FromMinutes(4));
        demand.Report(new GatewayLoad("g1", 0, 0, 0), T0 + TimeSpan.FromMinutes(6));
        Assert.Equal(1, demand.Target(0, 1, 4, T0 + Options.IdleBeforeScaleToZero + TimeSpan.FromMinutes(3)));
        Assert.Equal(0, demand.Target(0, 1, 4, T0 + Options.IdleBeforeScaleToZero + TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Load_sets_the_target_and_scale_down_waits_for_the_cooldown()
    {
        var demand = new InstanceDemand(Options);
        // 10 in flight + waiting, 4 per instance at 80%: ceil(10 / 3.2) = 4.
        demand.Report(new GatewayLoad("g1", 8, 2, 0), T0);
        Assert.Equal(4, demand.Desired(1, 8, 4, current: 1, T0));
        Assert.Equal(3, demand.Desired(1, 3, 4, current: 1, T0)); // capped at max

        demand.Report(new GatewayLoad("g1", 1, 0, 0), T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(4, demand.Desired(1, 8, 4, current: 4, T0 + TimeSpan.FromSeconds(1)));
        Assert.Equal(4, demand.Desired(1, 8, 4, current: 4, T0 + Options.ScaleDownCooldown));
        Assert.Equal(1, demand.Desired(1, 8, 4, current: 4, T0 + TimeSpan.FromSeconds(1) + Options.ScaleDownCooldown));

        // A settings change acts at once.
        demand.Report(new GatewayLoad("g1", 8, 2, 0), T0 + TimeSpan.FromSeconds(70));
        Assert.Equal(4, demand.Desired(1, 8, 4, current: 4, T0 + TimeSpan.FromSeconds(70)));
        demand.SettingsChanged();
        Assert.Equal(2, demand.Desired(1, 2, 4, current: 4, T0 + TimeSpan.FromSeconds(71)));
    }

    [Fact]
    public void A_decision_records_the_input_that_asked_for_it()
    {
        var demand = new InstanceDemand(Options);
        Assert.Equal((1, ScaleTrigger.ControlLoop), demand.Decide(1, 4, 4, live: 0, T0)); // min_instances, on the loop's tick

        // A gateway's queue grew: the deployment decides now, and the decision says why.
        demand.Report(new GatewayLoad("g1", 4, 3, 0, LoadTrigger.GatewayQueue), T0);
        Assert.True(demand.Changes(1, 4, 4, live: 1, T0));
        demand.Report(new GatewayLoad("g2", 0, 0, 0), T0); // a periodic report arriving before the decision
        Assert.Equal((3, ScaleTrigger.GatewayQueue), demand.Decide(1, 4, 4, live: 1, T0));

        // The same need again is not a new decision; a larger one is.
        demand.Report(new GatewayLoad("g1", 4, 3, 0), T0);
        Assert.False(demand.Changes(1, 4, 4, live: 1, T0));
        demand.Report(new GatewayLoad("g1", 4, 8, 0, LoadTrigger.GatewayInFlight), T0);
        Assert.True(demand.Changes(1, 4, 4, live: 1, T0));
        Assert.Equal((4, ScaleTrigger.GatewayInFlight), demand.Decide(1, 4, 4, live: 1, T0));
        Assert.Equal((4, ScaleTrigger.ControlLoop), demand.Decide(1, 4, 4, live: 1, T0));

        var cold = new InstanceDemand(Options);
        cold.Request(T0);
        Assert.Equal((1, ScaleTrigger.ColdStart), cold.Decide(0, 1, 4, live: 0, T0));
        cold.SettingsChanged();
        Assert.Equal((2, ScaleTrigger.Settings), cold.Decide(2, 2, 4, live: 1, T0));
    }

    [Fact]
    public void Totals_add_the_fresh_reports_of_every_gateway()
    {
        var demand = new InstanceDemand(Options);
        demand.Report(new GatewayLoad("g1", 3, 5, 1), T0);
        demand.Report(new GatewayLoad("g2", 4, 0, 2), T0 + TimeSpan.FromSeconds(20));
        Assert.Equal((7, 5, 3L), demand.Totals(T0 + TimeSpan.FromSeconds(25)));
        Assert.Equal((4, 0, 2L), demand.Totals(T0 + InstanceDemand.ReportTtl + TimeSpan.FromSeconds(1)));
    }
}

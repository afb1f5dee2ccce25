using DeepDeploy.Grains.Deployments;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>The policies' decisions alone on the bursty trace (<see cref="PolicyReplay"/>): with instances that serve
/// within a step (the benchmark's documented 100 ms start), the SLO policy meets both targets of issue 16 (GPU-seconds
/// ≤ 1.15× the oracle's, ≤ 1 % of requests over the SLO) and the Utilization policy does not; with a start of a
/// step or more no policy that holds no instance ahead of a burst can serve the burst's first step.</summary>
[Trait("Category", "Unit")]
public sealed class PolicyReplayTests
{
    static AutoscalerOptions Slo() => new()
    {
        Policy = ScalingPolicies.Slo,
        IdleBeforeScaleToZero = TimeSpan.FromSeconds(2),
        Slo = new SloPolicyOptions
        {
            PanicWindow = TimeSpan.FromSeconds(0.5),
            StableWindow = TimeSpan.FromSeconds(5),
            ScaleDownLead = TimeSpan.FromSeconds(0.5),
        },
    };

    static (double Ratio, double OverShare) Replay(AutoscalerOptions options, int startMilliseconds)
    {
        var (gpuSeconds, over) = new PolicyReplay(options, TimeSpan.FromMilliseconds(startMilliseconds)).Run();
        return (gpuSeconds / BurstyTrace.OracleGpuSeconds, (double)over / BurstyTrace.Requests);
    }

    [Fact]
    public void With_the_documented_start_the_slo_policy_meets_both_targets_and_utilization_does_not()
    {
        var (ratio, over) = Replay(Slo(), startMilliseconds: 100);
        Assert.InRange(ratio, 1.0, 1.15);
        Assert.InRange(over, 0, 0.01);

        var utilization = new AutoscalerOptions { IdleBeforeScaleToZero = TimeSpan.FromSeconds(2), ScaleDownCooldown = TimeSpan.FromSeconds(1) };
        Assert.True(Replay(utilization, startMilliseconds: 100).Ratio > 1.15);
    }

    [Fact]
    public void A_start_longer_than_a_step_puts_every_burst_s_first_step_over_the_slo_whatever_the_headroom()
    {
        var slo = Slo();
        slo.Slo.TargetConcurrency = 0.8;
        foreach (var options in new[] { Slo(), slo })
        {
            Assert.True(Replay(options, startMilliseconds: 300).OverShare > 0.03);
        }
    }
}

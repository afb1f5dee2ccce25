using DeepDeploy.Grains.Deployments;
using Microsoft.Extensions.Time.Testing;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>The two scaling policies' arithmetic over time, and choosing one by name.</summary>
[Trait("Category", "Unit")]
public sealed class ScalingPolicyTests
{
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    static readonly SloPolicyOptions Slo = new()
    {
        PanicWindow = TimeSpan.FromSeconds(6),
        StableWindow = TimeSpan.FromSeconds(60),
        ScaleDownLead = TimeSpan.FromSeconds(30),
    };

    int Desired(IScalingPolicy policy, int load, int current, int floor = 0)
    {
        policy.Observe(load, _clock.GetUtcNow());
        return policy.Desired(new ScalingInput(load, floor, current, MaxBatchSize: 4, _clock.GetUtcNow()));
    }

    [Fact]
    public void Slo_scales_up_at_once_to_a_full_batch_per_instance()
    {
        var policy = new SloPolicy(Slo);
        Assert.Equal(3, Desired(policy, load: 10, current: 1)); // ceil(10 / 4): in flight + waiting fit without a queue
        Assert.Equal(2, Desired(new SloPolicy(new SloPolicyOptions { TargetConcurrency = 0.5 }), load: 4, current: 1));
        Assert.Equal(2, Desired(new SloPolicy(Slo), load: 0, current: 0, floor: 2)); // min_instances or a cold start
    }

    [Fact]
    public void Slo_surges_by_half_the_queue_s_instances_while_requests_wait_and_lets_the_surge_go_with_the_queue()
    {
        var policy = new SloPolicy(Slo);
        SloInput(policy, load: 20, waiting: 16, current: 1, expected: 7); // 5 for the load, floor(0.5 × 16 / 4) = 2 more
        _clock.Advance(TimeSpan.FromMilliseconds(250));
        SloInput(policy, load: 20, waiting: 8, current: 7, expected: 6); // three serve: the queue's surge shrinks
        _clock.Advance(TimeSpan.FromMilliseconds(250));
        SloInput(policy, load: 20, waiting: 0, current: 6, expected: 5); // no queue; the onset's trend holds no more than the peak's 5
        SloInput(new SloPolicy(new SloPolicyOptions { QueueSurge = 0 }), load: 20, waiting: 16, current: 1, expected: 5);
        SloInput(new SloPolicy(Slo), load: 1, waiting: 1, current: 0, expected: 1); // a cold start's held request: no surge
    }

    void SloInput(IScalingPolicy policy, int load, int waiting, int current, int expected)
    {
        policy.Observe(load, _clock.GetUtcNow());
        Assert.Equal(expected, policy.Desired(new ScalingInput(load, 0, current, MaxBatchSize: 4, _clock.GetUtcNow()) { Waiting = waiting }));
    }

    [Fact]
    public void Slo_keeps_a_bursts_instances_for_the_panic_window_then_lets_them_go_without_a_cooldown()
    {
        var policy = new SloPolicy(Slo);
        Assert.Equal(5, Desired(policy, load: 20, current: 1));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(5, Desired(policy, load: 2, current: 5)); // between two waves of the burst
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(5, Desired(policy, load: 2, current: 5));
        _clock.Advance(Slo.PanicWindow);
        Assert.Equal(1, Desired(policy, load: 2, current: 5)); // the burst left the panic window; the trend falls
    }

    [Fact]
    public void Slo_predicts_a_rising_load_and_keeps_the_instances_it_will_need_again()
    {
        var policy = new SloPolicy(Slo);
        for (var load = 1; load <= 12; load++)
        {
            Desired(policy, load, current: 3);
            _clock.Advance(TimeSpan.FromSeconds(4));
        }

        // A dip 10 s after a climb of 1 request per 4 s (the climb's peak is out of the panic window): the trend over
        // the stable window says the load is back above what fewer instances carry within the 30 s lead.
        _clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(3, Desired(policy, load: 4, current: 3));

        var flat = new SloPolicy(Slo);
        for (var i = 0; i < 12; i++)
        {
            Desired(flat, 8, current: 3);
            _clock.Advance(TimeSpan.FromSeconds(4));
        }

        _clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(1, Desired(flat, load: 4, current: 3)); // flat, then a drop: no reason to hold
    }

    [Fact]
    public void Slo_settings_change_forgets_the_history()
    {
        var policy = new SloPolicy(Slo);
        Desired(policy, load: 20, current: 1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(5, Desired(policy, load: 0, current: 5));
        policy.SettingsChanged();
        Assert.Equal(0, policy.Desired(new ScalingInput(0, 0, 5, 4, _clock.GetUtcNow())));
    }

    [Fact]
    public void Utilization_holds_until_the_cooldown_passed()
    {
        var options = new AutoscalerOptions { ScaleDownCooldown = TimeSpan.FromSeconds(10) };
        var policy = new UtilizationPolicy(options);
        Assert.Equal(4, Desired(policy, load: 10, current: 1)); // ceil(10 / 3.2)
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(4, Desired(policy, load: 1, current: 4));
        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(4, Desired(policy, load: 1, current: 4));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, Desired(policy, load: 1, current: 4));
    }

    [Theory]
    [InlineData("Utilization", typeof(UtilizationPolicy))]
    [InlineData("slo", typeof(SloPolicy))]
    public void A_policy_is_chosen_by_name(string name, Type type)
    {
        Assert.True(ScalingPolicies.IsKnown(name));
        Assert.IsType(type, ScalingPolicies.Create(new AutoscalerOptions { Policy = name }));
    }

    [Fact]
    public void An_unknown_policy_is_refused_with_the_names_it_may_be()
    {
        Assert.False(ScalingPolicies.IsKnown("magic"));
        var error = Assert.Throws<InvalidOperationException>(() => ScalingPolicies.Create(new AutoscalerOptions { Policy = "magic" }));
        Assert.Contains("Utilization, Slo", error.Message);
    }
}

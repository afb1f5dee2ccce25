using DeepDeploy.Gateway.Inference.Routing;
using static DeepDeploy.Tests.Gateway.Routing.RoutingTestData;

namespace DeepDeploy.Tests.Gateway.Routing;

[Trait("Category", "Unit")]
public sealed class ScorerTests
{
    [Theory]
    [InlineData(0, 4, 1.0)]
    [InlineData(1, 4, 0.75)]
    [InlineData(4, 4, 0.0)]
    [InlineData(5, 4, 0.0)]
    [InlineData(0, 0, 0.0)]
    public void In_flight_scores_the_free_part_of_the_slot_share(int inFlight, int capacity, double expected) =>
        Assert.Equal(expected, InFlightScorer.Instance.Score(Slot("a", inFlight, capacity), At(0)), 9);

    [Fact]
    public void Engine_queue_scores_zero_while_a_busy_ceiling_holds_then_recovers_over_as_long_again()
    {
        var slot = Slot("a");
        Assert.Equal(1, EngineQueueScorer.Instance.Score(slot, At(0)));
        slot.CeilingSince = 1000;
        slot.CeilingUntil = 1250;
        Assert.Equal(0, EngineQueueScorer.Instance.Score(slot, At(1100)));
        Assert.Equal(0, EngineQueueScorer.Instance.Score(slot, At(1250)));
        Assert.Equal(0.5, EngineQueueScorer.Instance.Score(slot, At(1375)), 9);
        Assert.Equal(1, EngineQueueScorer.Instance.Score(slot, At(1500)));
    }

    [Fact]
    public void Recent_failures_lower_the_score_and_are_forgotten_by_half_every_half_life()
    {
        var slot = Slot("a");
        Assert.Equal(1, RecentFailuresScorer.Instance.Score(slot, At(0)));
        slot.Failures = 2;
        slot.LastFailure = 1000;
        Assert.Equal(1.0 / 3, RecentFailuresScorer.Instance.Score(slot, At(1000)), 9);
        var halfLife = (long)(RecentFailuresScorer.HalfLife.TotalSeconds * Frequency);
        Assert.Equal(0.5, RecentFailuresScorer.Instance.Score(slot, At(1000 + halfLife)), 9);
        Assert.True(RecentFailuresScorer.Instance.Score(slot, At(1000 + 20 * halfLife)) > 0.999);
        Assert.Equal(2.5, RecentFailuresScorer.Decayed(5, RecentFailuresScorer.HalfLife.TotalSeconds), 9);
    }

    [Fact]
    public void Outstanding_tokens_score_the_part_of_the_lanes_generation_the_instance_does_not_hold()
    {
        var state = new LaneRoutingState();
        var idle = Slot("idle");
        var long_ = Slot("long", inFlight: 1);
        Assert.Equal(1, OutstandingTokensScorer.Instance.Score(idle, At(0, state)));
        Assert.Equal(1, OutstandingTokensScorer.Instance.Score(long_, At(0, state)));

        long_.OutstandingTokens = 100;
        var shorts = Slot("shorts", inFlight: 2);
        shorts.OutstandingTokens = 8;
        state.OutstandingTokens = 108;
        Assert.Equal(1, OutstandingTokensScorer.Instance.Score(idle, At(0, state)));
        Assert.Equal(8.0 / 108, OutstandingTokensScorer.Instance.Score(long_, At(0, state)), 9);
        Assert.Equal(100.0 / 108, OutstandingTokensScorer.Instance.Score(shorts, At(0, state)), 9);
    }
}

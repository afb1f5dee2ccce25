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
}

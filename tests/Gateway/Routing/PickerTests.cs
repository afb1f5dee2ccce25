using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;
using static DeepDeploy.Tests.Gateway.Routing.RoutingTestData;

namespace DeepDeploy.Tests.Gateway.Routing;

[Trait("Category", "Unit")]
public sealed class PickerTests
{
    /// <summary>A scorer with fixed scores by instance id, for the pickers' arithmetic.</summary>
    sealed class FixedScorer(Dictionary<string, double> scores) : IInstanceScorer
    {
        public string Name => "fixed";

        public double Score(InstanceSlot slot, in RoutingContext context) => scores[slot.InstanceId];
    }

    [Fact]
    public void Scoring_takes_the_highest_weighted_sum()
    {
        var a = Slot("a");
        var b = Slot("b");
        var first = new FixedScorer(new() { ["a"] = 1.0, ["b"] = 0.0 });
        var second = new FixedScorer(new() { ["a"] = 0.0, ["b"] = 1.0 });

        Assert.Same(a, new ScoringPicker(new Random(1), new(first, 2), new(second, 1)).Pick([a, b], At(0)));
        Assert.Same(b, new ScoringPicker(new Random(1), new(first, 1), new(second, 2)).Pick([a, b], At(0)));
    }

    [Fact]
    public void Scoring_breaks_ties_uniformly_at_random_and_never_picks_a_lower_score()
    {
        InstanceSlot[] slots = [Slot("a", inFlight: 1), Slot("b"), Slot("c", inFlight: 2), Slot("d"), Slot("e")];
        var picker = new ScoringPicker(new Random(7), new WeightedScorer(InFlightScorer.Instance, 1));
        var counts = new Dictionary<string, int>();
        const int picks = 30_000;
        for (var i = 0; i < picks; i++)
        {
            var id = picker.Pick(slots, At(0)).InstanceId;
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }

        Assert.Equal(["b", "d", "e"], counts.Keys.Order());
        Assert.All(counts.Values, n => Assert.InRange(n, picks / 3 - 600, picks / 3 + 600));
    }

    [Fact]
    public void Round_robin_takes_each_candidate_in_turn_with_the_lanes_cursor()
    {
        InstanceSlot[] slots = [Slot("a"), Slot("b"), Slot("c")];
        var state = new LaneRoutingState();
        var picked = Enumerable.Range(0, 6).Select(_ => RoundRobinPicker.Instance.Pick(slots, At(0, state)).InstanceId);
        Assert.Equal(["a", "b", "c", "a", "b", "c"], picked);
    }

    [Fact]
    public void Random_reaches_every_candidate()
    {
        InstanceSlot[] slots = [Slot("a"), Slot("b"), Slot("c")];
        var picker = new RandomPicker(new Random(3));
        var seen = Enumerable.Range(0, 300).Select(_ => picker.Pick(slots, At(0)).InstanceId).ToHashSet();
        Assert.Equal(3, seen.Count);
    }
}

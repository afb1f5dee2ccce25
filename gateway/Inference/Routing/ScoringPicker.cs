namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>The endpoint picker's weighted choice: the candidate with the highest sum of weight × score; ties are broken
/// uniformly at random (reservoir sampling), so that equal instances share the load.</summary>
public sealed class ScoringPicker(Random random, params WeightedScorer[] scorers) : IInstancePicker
{
    /// <summary>Scores closer than this are equal (sums of doubles).</summary>
    const double Tie = 1e-9;

    public IReadOnlyList<WeightedScorer> Scorers => scorers;

    public InstanceSlot Pick(ReadOnlySpan<InstanceSlot> candidates, in RoutingContext context)
    {
        var best = candidates[0];
        var bestScore = Score(best, context);
        var ties = 1;
        for (var i = 1; i < candidates.Length; i++)
        {
            var score = Score(candidates[i], context);
            if (score > bestScore + Tie)
            {
                (best, bestScore, ties) = (candidates[i], score, 1);
            }
            else if (score >= bestScore - Tie && random.Next(++ties) == 0)
            {
                best = candidates[i];
            }
        }

        return best;
    }

    double Score(InstanceSlot slot, in RoutingContext context)
    {
        var sum = 0.0;
        foreach (var (scorer, weight) in scorers)
        {
            sum += weight * scorer.Score(slot, context);
        }

        return sum;
    }
}

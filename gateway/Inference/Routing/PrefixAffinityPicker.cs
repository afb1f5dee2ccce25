namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>
/// Prefix-aware picking: before <paramref name="scoring"/> (which weighs <see cref="PrefixScorer"/> against the load
/// scorers) looks at the candidates, the lane's <see cref="PrefixIndex"/> is matched once against the request's
/// blocks (<see cref="RoutingContext.Prefix"/>); after the pick, the chosen instance is recorded as holding them.
/// </summary>
public sealed class PrefixAffinityPicker(ScoringPicker scoring) : IInstancePicker
{
    public ScoringPicker Scoring { get; } = scoring;

    public InstanceSlot Pick(ReadOnlySpan<InstanceSlot> candidates, in RoutingContext context)
    {
        var blocks = context.Prefix.Span;
        var index = context.State.Prefix ??= new PrefixIndex();
        index.Match(blocks);
        var chosen = Scoring.Pick(candidates, context);
        index.Record(blocks, chosen);
        return chosen;
    }
}

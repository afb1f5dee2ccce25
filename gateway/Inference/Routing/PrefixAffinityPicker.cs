namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>
/// Prefix-aware picking: before <paramref name="scoring"/> (which weighs <see cref="PrefixScorer"/> against the load
/// scorers) looks at the candidates, the lane's <see cref="PrefixIndex"/> is matched once against the request's
/// blocks (<see cref="RoutingContext.Prefix"/>); after the pick, the chosen instance is recorded as holding them.
/// When the instance holding most of the request's prefix is only at its slot share (serving, healthy, with requests
/// of its own that will end), the request waits for it instead of prefilling the whole prompt on an instance that
/// lacks it, unless as many requests already wait as that instance has slots: then a hot prefix spreads.
/// </summary>
public sealed class PrefixAffinityPicker(ScoringPicker scoring) : IInstancePicker
{
    /// <summary>The least part of the request a busy holder must hold to be waited for: below it, a cold prefill
    /// elsewhere costs little more than the wait.</summary>
    public const double WaitFraction = 0.5;

    public ScoringPicker Scoring { get; } = scoring;

    public InstanceSlot? Pick(ReadOnlySpan<InstanceSlot> candidates, in RoutingContext context)
    {
        var blocks = context.Prefix.Span;
        var index = context.State.Prefix ??= new PrefixIndex();
        index.Match(blocks);
        if (WaitsForHolder(index, candidates, context))
        {
            return null;
        }

        var chosen = Scoring.Pick(candidates, context);
        index.Record(blocks, chosen);
        return chosen;
    }

    static bool WaitsForHolder(PrefixIndex index, ReadOnlySpan<InstanceSlot> candidates, in RoutingContext context)
    {
        var (holder, fraction) = index.LongestHolder();
        if (holder is null || fraction < WaitFraction || context.Waiting >= holder.Capacity || holder.InFlight == 0
            || SlotShareFilter.Instance.Keep(holder, context) || !ServingFilter.Instance.Keep(holder, context)
            || !HealthyFilter.Instance.Keep(holder, context))
        {
            return false;
        }

        foreach (var candidate in candidates)
        {
            if (index.MatchedFraction(candidate) >= fraction)
            {
                return false;
            }
        }

        return true;
    }
}

namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>For a request whose prefix no instance holds, prefers the instance the lane's <see cref="PrefixIndex"/>
/// has given the fewest prefix blocks, so that new prefixes fill the engines' caches evenly: a cache sized for its
/// share of the prompts then holds them, where placing new prompts by load alone gave one instance more than its
/// share and its cache thrashed. 1 − the instance's blocks / (2 × the mean over holders), clamped; a constant for a
/// request some instance holds (<see cref="PrefixScorer"/> decides those).</summary>
public sealed class PrefixBalanceScorer : IInstanceScorer
{
    public static readonly PrefixBalanceScorer Instance = new();

    public string Name => "prefix-balance";

    public double Score(InstanceSlot slot, in RoutingContext context)
    {
        if (context.State.Prefix is not { } index || index.LongestHolder().Holder is not null || index.MeanHeld <= 0)
        {
            return 0.5;
        }

        return 1 - Math.Min(1.0, index.Held(slot) / (2 * index.MeanHeld));
    }
}

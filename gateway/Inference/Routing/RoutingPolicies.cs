namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>
/// The routing policies a deployment or a request can name (<c>X-DeepDeploy-Routing</c>). All of them keep the same
/// filters (serving, healthy, below its slot share: the max_batch_size invariant), so a policy only changes which
/// of the free instances gets the request. <see cref="Prefix"/> adds prefix affinity to <see cref="LeastLoaded"/>'s
/// scorers, weighed next to the load.
/// </summary>
public static class RoutingPolicies
{
    public const string Header = "X-DeepDeploy-Routing";

    static readonly IInstanceFilter[] Filters = [ServingFilter.Instance, HealthyFilter.Instance, SlotShareFilter.Instance];

    /// <summary>The default: the lowest part of its slot share in use and of the outstanding generation (max_tokens in
    /// flight), then no recent busy refusal, then no recent failures.</summary>
    public static readonly RoutingPolicy LeastLoaded = new("least-loaded", Filters, new ScoringPicker(System.Random.Shared,
        new WeightedScorer(InFlightScorer.Instance, 1.0),
        new WeightedScorer(OutstandingTokensScorer.Instance, 0.5),
        new WeightedScorer(EngineQueueScorer.Instance, 0.5),
        new WeightedScorer(RecentFailuresScorer.Instance, 0.5)));

    public static readonly RoutingPolicy RoundRobin = new("round-robin", Filters, RoundRobinPicker.Instance);

    public static readonly RoutingPolicy Random = new("random", Filters, new RandomPicker(System.Random.Shared));

    /// <summary>Prefix affinity weighed against the load: the instance that recently got this request's prefix, unless
    /// it is at its slot share or clearly busier than another; a new prefix goes where the index has placed fewest
    /// (see docs/gateway.md, "Prefix-aware routing").</summary>
    public static readonly RoutingPolicy Prefix = new("prefix", Filters, new PrefixAffinityPicker(new ScoringPicker(System.Random.Shared,
        new WeightedScorer(PrefixScorer.Instance, 0.8),
        new WeightedScorer(PrefixBalanceScorer.Instance, 1.0),
        new WeightedScorer(InFlightScorer.Instance, 1.0),
        new WeightedScorer(EngineQueueScorer.Instance, 0.5),
        new WeightedScorer(RecentFailuresScorer.Instance, 0.5))));

    public static readonly IReadOnlyList<RoutingPolicy> All = [LeastLoaded, RoundRobin, Random, Prefix];

    /// <summary>"least-loaded, round-robin, random, prefix": for error messages.</summary>
    public static readonly string Names = string.Join(", ", All.Select(p => p.Name));

    public static RoutingPolicy? Find(string? name)
    {
        foreach (var policy in All)
        {
            if (string.Equals(policy.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return policy;
            }
        }

        return null;
    }
}

namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Prefers the instance that was recently given the longest part of this request's prefix, so that its
/// engine's prefix cache (the built-in worker's, vLLM's or SGLang's) holds it: the part of the request's blocks,
/// from the start, that the lane's <see cref="PrefixIndex"/> says the instance holds (0 to 1). Reads the match
/// <see cref="PrefixAffinityPicker"/> made for this decision.</summary>
public sealed class PrefixScorer : IInstanceScorer
{
    public static readonly PrefixScorer Instance = new();

    public string Name => "prefix";

    public double Score(InstanceSlot slot, in RoutingContext context) =>
        context.State.Prefix is { } index ? index.MatchedFraction(slot) : 0;
}

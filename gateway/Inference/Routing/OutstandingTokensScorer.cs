namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Prefers the instance with the smallest part of the lane's outstanding generation: each request in flight
/// counts its <c>max_tokens</c> (known at admission, <see cref="InstanceSlot.OutstandingTokens"/>), so one long
/// generation weighs as much as many short ones. The score is 1 − the instance's part of what this gateway has in
/// flight on the deployment (1 when nothing is). An engine's decode step slows with the sequences' total length in
/// its batch, so spreading long generations keeps per-token latency even.</summary>
public sealed class OutstandingTokensScorer : IInstanceScorer
{
    public static readonly OutstandingTokensScorer Instance = new();

    public string Name => "outstanding-tokens";

    public double Score(InstanceSlot slot, in RoutingContext context)
    {
        var total = context.State.OutstandingTokens;
        return total <= 0 ? 1 : 1 - Math.Min(1.0, (double)slot.OutstandingTokens / total);
    }
}

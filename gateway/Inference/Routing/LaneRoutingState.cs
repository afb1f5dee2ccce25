namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Routing state that belongs to one deployment lane, used under its lock.</summary>
public sealed class LaneRoutingState
{
    /// <summary>Picks made by round-robin so far.</summary>
    public int Cursor { get; set; }

    /// <summary>The max_tokens of every request in flight on the lane's instances (their
    /// <see cref="InstanceSlot.OutstandingTokens"/> summed).</summary>
    public long OutstandingTokens { get; set; }

    /// <summary>Which instances recently got which prefixes (made by the first prefix-aware pick).</summary>
    public PrefixIndex? Prefix { get; set; }
}

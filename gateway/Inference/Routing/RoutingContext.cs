namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>What one routing decision knows besides the instances: the lane's clock and state, and the request (its
/// body, as forwarded: what a prefix-affinity scorer hashes).</summary>
public readonly struct RoutingContext(long now, long frequency, LaneRoutingState state, ReadOnlyMemory<byte> body,
    ReadOnlyMemory<ulong> prefix = default, int waiting = 0)
{
    /// <summary>Timestamp of the decision, on the lane's <see cref="TimeProvider"/>.</summary>
    public long Now { get; } = now;

    /// <summary>Ticks per second of <see cref="Now"/>.</summary>
    public long Frequency { get; } = frequency;

    /// <summary>The lane's own routing state (round-robin cursor).</summary>
    public LaneRoutingState State { get; } = state;

    /// <summary>The request body as it will be forwarded (empty when unknown, e.g. a queued retry).</summary>
    public ReadOnlyMemory<byte> Body { get; } = body;

    /// <summary>The body's prefix blocks (<see cref="PrefixBlocks"/>), hashed before the lane's lock when the policy
    /// routes by prefix; else empty.</summary>
    public ReadOnlyMemory<ulong> Prefix { get; } = prefix;

    /// <summary>Requests waiting in the lane's queue at the decision (a queued request counts itself).</summary>
    public int Waiting { get; } = waiting;

    /// <summary>Seconds from <paramref name="timestamp"/> to <see cref="Now"/>.</summary>
    public double SecondsSince(long timestamp) => (double)(Now - timestamp) / Frequency;
}

namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Prefers the instance with the smallest part of its slot share in use (with equal shares: the fewest of
/// this gateway's requests in flight).</summary>
public sealed class InFlightScorer : IInstanceScorer
{
    public static readonly InFlightScorer Instance = new();

    public string Name => "in-flight";

    public double Score(InstanceSlot slot, in RoutingContext context) =>
        slot.Capacity <= 0 ? 0 : 1 - Math.Min(1.0, (double)slot.InFlight / slot.Capacity);
}

namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Keeps healthy instances: not one that refused a connection or failed before answering, during its
/// cooldown (<see cref="InstanceSlot.ExcludedUntil"/>).</summary>
public sealed class HealthyFilter : IInstanceFilter
{
    public static readonly HealthyFilter Instance = new();

    public string Name => "healthy";

    public bool Keep(InstanceSlot slot, in RoutingContext context) => slot.ExcludedUntil <= context.Now;
}

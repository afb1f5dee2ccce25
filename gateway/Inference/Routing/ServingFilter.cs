namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Keeps instances that serve: not one that answered it is loading or draining, until
/// <see cref="InstanceSlot.NotServingUntil"/> (or a new route says otherwise).</summary>
public sealed class ServingFilter : IInstanceFilter
{
    public static readonly ServingFilter Instance = new();

    public string Name => "serving";

    public bool Keep(InstanceSlot slot, in RoutingContext context) => slot.NotServingUntil <= context.Now;
}

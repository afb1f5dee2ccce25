namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Takes one of the instances that passed a policy's filters (never an empty span).</summary>
public interface IInstancePicker
{
    InstanceSlot Pick(ReadOnlySpan<InstanceSlot> candidates, in RoutingContext context);
}

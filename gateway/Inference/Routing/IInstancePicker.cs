namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Takes one of the instances that passed a policy's filters (never an empty span), or none: the request
/// then waits in the lane's queue as when every instance is filtered out.</summary>
public interface IInstancePicker
{
    InstanceSlot? Pick(ReadOnlySpan<InstanceSlot> candidates, in RoutingContext context);
}

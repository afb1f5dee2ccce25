namespace DeepDeploy.Gateway.Inference.Routing;

/// <summary>Drops instances that must not get the request. Runs under the lane's lock: no I/O, no allocation.</summary>
public interface IInstanceFilter
{
    string Name { get; }

    bool Keep(InstanceSlot slot, in RoutingContext context);
}

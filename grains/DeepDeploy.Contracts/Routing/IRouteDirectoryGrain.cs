namespace DeepDeploy.Contracts.Routing;

/// <summary>
/// The control plane's routing table: every deployment publishes its route here when it changes, and the
/// directory pushes each change to every subscribed gateway at once, so that no inference request needs a grain
/// call. Gateways subscribe with a lease and renew it periodically (which also hands them a full snapshot, the
/// safety net for a lost push); the live gateways are listed in the updates so that they can split each
/// instance's slots among themselves. The directory is <see cref="RouteShards.Count"/> grains (the key is the
/// shard, <see cref="RouteShards.Of"/> of a deployment id); a gateway subscribes to every shard.
/// </summary>
public interface IRouteDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Records a deployment's route (a <c>Deleted</c> one is removed; the deployment must be of this shard) and pushes it to the gateways.</summary>
    Task Publish(DeploymentRoute route);

    /// <summary>Subscribes or renews a gateway's lease (<see cref="LeaseSeconds"/>); returns a full snapshot.</summary>
    Task<RouteTableUpdate> Subscribe(string gatewayId, IRouteObserver observer);

    Task Unsubscribe(string gatewayId);

    /// <summary>A gateway that does not renew within this many seconds is dropped from the live list.</summary>
    public const int LeaseSeconds = 20;
}

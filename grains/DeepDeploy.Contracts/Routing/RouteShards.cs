namespace DeepDeploy.Contracts.Routing;

/// <summary>
/// The route directory is <see cref="Count"/> grains, each owning the routes of the deployments whose id hashes to
/// it: a publish writes only its shard's routes, and pushes to the gateways leave from every shard instead of one
/// grain. The hash is a stable FNV-1a of the deployment id, so <see cref="Count"/> must not change once shards hold
/// routes.
/// </summary>
public static class RouteShards
{
    public const int Count = 16;

    /// <summary>The shard (the <see cref="IRouteDirectoryGrain"/> key) that owns a deployment's route.</summary>
    public static int Of(string deployId)
    {
        var hash = 2166136261u;
        foreach (var c in deployId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Count);
    }
}

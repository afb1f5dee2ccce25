using System.Collections.Concurrent;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Gateway.Inference;

/// <summary>Model name → running endpoints, cached for a second so that a burst of requests costs one
/// grain call, and dropped at once when forwarding to an endpoint fails.</summary>
public sealed class RouteTable(IGrainFactory grains, TimeProvider time)
{
    static readonly TimeSpan Ttl = TimeSpan.FromSeconds(1);

    readonly ConcurrentDictionary<string, (RouteInfo? Route, DateTimeOffset Expires)> _routes = new();

    public async ValueTask<RouteInfo?> ResolveAsync(string owner, string modelName)
    {
        var key = owner + "/" + modelName;
        var now = time.GetUtcNow();
        if (_routes.TryGetValue(key, out var cached) && cached.Expires > now)
        {
            return cached.Route;
        }

        var deployId = await grains.GetGrain<IUserQuotaGrain>(owner).FindDeployment(modelName);
        var route = deployId is null ? null : await grains.GetGrain<IDeploymentGrain>(deployId).GetRoute();
        _routes[key] = (route, now + Ttl);
        return route;
    }

    public void Invalidate(string owner, string modelName) => _routes.TryRemove(owner + "/" + modelName, out _);
}

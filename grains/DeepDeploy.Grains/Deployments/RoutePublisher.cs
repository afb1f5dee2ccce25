using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Used by a deployment grain: builds its route from its state and publishes it to the route directory when
/// it differs from the last one published. Cheap to call after every change and every reconcile tick; a failed
/// publish is retried by the next call.
/// </summary>
public sealed class RoutePublisher(IGrainFactory grains, ILogger log)
{
    DeploymentRoute? _published;

    public async Task PublishAsync(string deployId, DeploymentState state)
    {
        var spec = state.Spec;
        if (spec is null)
        {
            return;
        }

        var instances = state.Instances.Values
            .Where(i => i.Phase == InstancePhase.Running && !i.Stopping && i.Endpoint is not null)
            .OrderBy(i => i.Id, StringComparer.Ordinal)
            .Select(i => new RouteInstance(i.Id, i.Endpoint!, i.Secret))
            .ToArray();
        var route = new DeploymentRoute(deployId, spec.FullModelName, state.Status, spec.MaxBatchSize, spec.MinInstances, instances);
        if (_published is not null && _published.SameContent(route))
        {
            return;
        }

        try
        {
            await grains.GetGrain<IRouteDirectoryGrain>(RouteShards.Of(deployId)).Publish(route);
            _published = route;
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not publish the route of {DeployId}; retrying at the next change or tick", deployId);
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using DeepDeploy.Contracts.Routing;

namespace DeepDeploy.Tests.Scale;

/// <summary>One simulated gateway's route subscriber: records when a pushed change first brought each deployment a
/// serving instance.</summary>
public sealed class RouteWatcher(string id) : IRouteObserver
{
    public string Id => id;

    public ConcurrentDictionary<string, long> FirstServing { get; } = new(StringComparer.Ordinal);

    public Task OnRoutesChanged(RouteTableUpdate update)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var route in update.Routes)
        {
            if (route.Instances.Count > 0)
            {
                FirstServing.TryAdd(route.DeployId, now);
            }
        }

        return Task.CompletedTask;
    }
}

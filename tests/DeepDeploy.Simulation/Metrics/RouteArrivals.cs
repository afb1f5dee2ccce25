using System.Collections.Concurrent;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;

namespace DeepDeploy.Simulation.Metrics;

/// <summary>
/// An incoming call filter on the cluster client that the simulated gateways share: when a route update (push or
/// snapshot) has been applied by a gateway's real <see cref="RouteSubscriber"/>, notes for each instance in it the
/// first simulated time that gateway knew it; as an outgoing filter, the same for the snapshot each renewal brings
/// back. With the time the instance began serving, this gives "a route change reaching every gateway".
/// </summary>
public sealed class RouteArrivals(SimClock clock) : IIncomingGrainCallFilter, IOutgoingGrainCallFilter
{
    readonly ConcurrentDictionary<RouteSubscriber, int> _gateways = new();
    readonly ConcurrentDictionary<string, int> _gatewayIds = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, double[]> _firstSeen = new(StringComparer.Ordinal);

    public int Gateways { get; set; }

    public void Add(RouteSubscriber subscriber, string gatewayId, int gateway)
    {
        _gateways[subscriber] = gateway;
        _gatewayIds[gatewayId] = gateway;
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        if (context.Grain is RouteSubscriber subscriber && _gateways.TryGetValue(subscriber, out var gateway)
            && context.Request.GetArgument(0) is RouteTableUpdate update)
        {
            Note(gateway, update);
        }
    }

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        await context.Invoke();
        if (context.MethodName == nameof(IRouteDirectoryGrain.Subscribe) && context.Result is RouteTableUpdate update
            && context.Request.GetArgument(0) is string id && _gatewayIds.TryGetValue(id, out var gateway))
        {
            Note(gateway, update);
        }
    }

    void Note(int gateway, RouteTableUpdate update)
    {
        var now = clock.Now;
        foreach (var route in update.Routes)
        {
            foreach (var instance in route.Instances)
            {
                var seen = _firstSeen.GetOrAdd(instance.InstanceId, _ => Enumerable.Repeat(double.NaN, Gateways).ToArray());
                lock (seen)
                {
                    if (double.IsNaN(seen[gateway]))
                    {
                        seen[gateway] = now;
                    }
                }
            }
        }
    }

    /// <summary>Simulated time by which every gateway knew the instance; null while one does not.</summary>
    public double? AllKnew(string instanceId)
    {
        if (!_firstSeen.TryGetValue(instanceId, out var seen))
        {
            return null;
        }

        lock (seen)
        {
            return seen.Any(double.IsNaN) ? null : seen.Max();
        }
    }
}

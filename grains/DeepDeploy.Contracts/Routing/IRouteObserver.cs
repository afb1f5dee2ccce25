using Orleans.Concurrency;

namespace DeepDeploy.Contracts.Routing;

/// <summary>Implemented by each gateway; the route directory pushes every routing change to it.</summary>
public interface IRouteObserver : IGrainObserver
{
    [OneWay]
    Task OnRoutesChanged(RouteTableUpdate update);
}

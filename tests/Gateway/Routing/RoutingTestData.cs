using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;

namespace DeepDeploy.Tests.Gateway.Routing;

/// <summary>Instances and contexts for the routing pipeline's unit tests: a clock of 1000 ticks per second.</summary>
static class RoutingTestData
{
    public const long Frequency = 1000;

    public static InstanceSlot Slot(string id, int inFlight = 0, int capacity = 4) =>
        new(id, $"http://127.0.0.1/{id}") { InFlight = inFlight, Capacity = capacity };

    public static RoutingContext At(long now, LaneRoutingState? state = null) =>
        new(now, Frequency, state ?? new LaneRoutingState(), default);
}

using DeepDeploy.Simulation;
using DeepDeploy.Simulation.Engine;

namespace DeepDeploy.Tests.Cluster;

/// <summary>What a <see cref="SimulatedNodeAgent"/> needs to run simulated engines instead of fixed-delay stand-ins:
/// the clock, the latency model and the fleet that gateways reach engines through.</summary>
/// <param name="Heartbeat">Report to the node registry every <see cref="HeartbeatInterval"/> (real), as a real node does.</param>
public sealed record NodeSimulation(SimClock Clock, LatencyModel Model, EngineFleet Fleet, bool Heartbeat)
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(4);
}

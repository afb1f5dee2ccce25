using System.Collections.Concurrent;

namespace DeepDeploy.Simulation.Engine;

/// <summary>Every simulated engine of a run by endpoint: the simulated network between gateways and nodes.</summary>
public sealed class EngineFleet
{
    readonly ConcurrentDictionary<string, SimulatedEngine> _byEndpoint = new(StringComparer.Ordinal);
    readonly ConcurrentQueue<SimulatedEngine> _all = new();

    public static string EndpointOf(string node, string instanceId) => $"http://{node}.invalid/{instanceId}";

    public void Add(string endpoint, SimulatedEngine engine)
    {
        _byEndpoint[endpoint] = engine;
        _all.Enqueue(engine);
    }

    /// <summary>The engine at an endpoint, or null: nothing listens there (the process is gone).</summary>
    public SimulatedEngine? Find(string endpoint) => _byEndpoint.GetValueOrDefault(endpoint);

    public void Remove(string endpoint) => _byEndpoint.TryRemove(endpoint, out _);

    /// <summary>Every engine ever started, stopped ones too.</summary>
    public IReadOnlyCollection<SimulatedEngine> All => _all.ToArray();
}

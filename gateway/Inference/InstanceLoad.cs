using System.Collections.Concurrent;

namespace DeepDeploy.Gateway.Inference;

/// <summary>Requests in flight per engine endpoint, counted by this gateway; routing picks the least loaded.</summary>
public sealed class InstanceLoad
{
    readonly ConcurrentDictionary<string, StrongBox> _inFlight = new();

    public string Pick(IReadOnlyList<string> endpoints)
    {
        string? best = null;
        var bestLoad = int.MaxValue;
        var ties = 0;
        foreach (var endpoint in endpoints)
        {
            var load = Volatile.Read(ref Counter(endpoint).Value);
            if (load < bestLoad)
            {
                (best, bestLoad, ties) = (endpoint, load, 1);
            }
            else if (load == bestLoad && Random.Shared.Next(++ties) == 0)
            {
                // Reservoir sampling: every tied endpoint is equally likely.
                best = endpoint;
            }
        }

        return best ?? throw new ArgumentException("No endpoints.", nameof(endpoints));
    }

    public void Enter(string endpoint) => Interlocked.Increment(ref Counter(endpoint).Value);

    public void Exit(string endpoint) => Interlocked.Decrement(ref Counter(endpoint).Value);

    StrongBox Counter(string endpoint) => _inFlight.GetOrAdd(endpoint, _ => new StrongBox());

    sealed class StrongBox
    {
        public int Value;
    }
}

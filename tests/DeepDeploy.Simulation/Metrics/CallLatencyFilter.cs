using System.Collections.Concurrent;
using System.Diagnostics;

namespace DeepDeploy.Simulation.Metrics;

/// <summary>
/// An Orleans incoming call filter on every silo: how long each grain method takes to answer, queueing on the
/// grain included (from when the call reaches the activation's silo to its answer), by interface and method.
/// Real (uncompressed) milliseconds: this is the control plane's own cost. Keys are "IGrain.Method" without namespaces.
/// </summary>
public sealed class CallLatencyFilter : IIncomingGrainCallFilter
{
    readonly ConcurrentDictionary<string, ConcurrentQueue<double>> _calls = new(StringComparer.Ordinal);

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await context.Invoke();
        }
        finally
        {
            var key = $"{context.InterfaceName[(context.InterfaceName.LastIndexOf('.') + 1)..]}.{context.MethodName}";
            _calls.GetOrAdd(key, _ => new ConcurrentQueue<double>()).Enqueue(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    /// <summary>Milliseconds of every call so far, by "IGrain.Method".</summary>
    public IReadOnlyDictionary<string, Percentiles> Snapshot() =>
        _calls.ToDictionary(c => c.Key, c => new Percentiles(c.Value), StringComparer.Ordinal);

    /// <summary>Milliseconds of the calls of one method.</summary>
    public Percentiles Of(string interfaceName, string method) =>
        new(_calls.TryGetValue($"{interfaceName}.{method}", out var calls) ? calls : []);
}

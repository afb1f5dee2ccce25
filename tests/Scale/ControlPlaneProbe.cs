using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Grains.Telemetry;

namespace DeepDeploy.Tests.Scale;

/// <summary>
/// What the scale benchmark measures inside the silos, by grain call filters: how long each call to a DeepDeploy grain
/// runs and how many there are (the cost per grain type), the grain state writes by state (Orleans' storage meter), how long placement waits for the node registry
/// as the deployment grain sees it, when each deployment first published a route with an instance, and (through
/// <see cref="ScaleNodeAgent"/>) when its first instance was scheduled on a node; and how each <c>StartInstance</c> ended:
/// the node's answer (<see cref="ControlPlaneMetrics.InstanceStarts"/>: placed, already placed, taken by a placement just
/// before, no room) or, as the deployment saw it, failed or timed out.
/// </summary>
public sealed class ControlPlaneProbe : IIncomingGrainCallFilter, IOutgoingGrainCallFilter, IDisposable
{
    /// <summary>Orleans' storage meter and its write histogram (one measurement per grain state write).</summary>
    const string OrleansMeter = "Microsoft.Orleans";
    const string StorageWrites = "orleans-storage-write-latency";

    readonly ConcurrentDictionary<string, CallStats> _calls = new(StringComparer.Ordinal);

    public ConcurrentQueue<double> PlacementMs { get; } = new();

    public ConcurrentDictionary<string, long> ScheduledAt { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> PublishedAt { get; } = new(StringComparer.Ordinal);

    readonly MeterListener _meters = new();

    /// <summary>Per deployment: when its last <c>FindNodes</c> returned, and the starts it made since.</summary>
    readonly ConcurrentDictionary<GrainId, (long At, int Starts)> _ranked = new();

    public ControlPlaneProbe()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ControlPlaneMetrics.MeterName
                && instrument.Name is ControlPlaneMetrics.InstanceStarts or ControlPlaneMetrics.LeasesExpiredName or ControlPlaneMetrics.StallsSuspected
                || instrument.Meter.Name == OrleansMeter && instrument.Name == StorageWrites)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<double>((_, _, tags, _) => Written(tags));
        _meters.SetMeasurementEventCallback<float>((_, _, tags, _) => Written(tags));
        _meters.SetMeasurementEventCallback<int>((_, _, tags, _) => Written(tags));
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name != ControlPlaneMetrics.InstanceStarts)
            {
                Registry.AddOrUpdate(instrument.Name, value, (_, count) => count + value);
                return;
            }

            foreach (var tag in tags)
            {
                if (tag.Key == TelemetryTags.StartOutcome)
                {
                    StartOutcomes.AddOrUpdate($"{tag.Value}", value, (_, count) => count + value);
                }
            }
        });
        _meters.Start();
    }

    public IReadOnlyDictionary<string, CallStats> Calls => _calls;

    /// <summary>Grain state writes by state name, since the last <see cref="Reset"/>.</summary>
    public ConcurrentDictionary<string, long> Writes { get; } = new(StringComparer.Ordinal);

    /// <summary><c>GpuNode.StartInstance</c> outcomes: the node's answers, and calls that failed or timed out at the caller.</summary>
    public ConcurrentDictionary<string, long> StartOutcomes { get; } = new(StringComparer.Ordinal);

    /// <summary>How long after the registry's ranking a node refused a start (a hold lasts until the start's push, at most <see cref="PlacementHolds.HoldFor"/>).</summary>
    public ConcurrentQueue<double> RankingAgeAtRefusalMs { get; } = new();

    /// <summary>The node registry's lease counters over the whole run (never reset): leases expired, stalls suspected.</summary>
    public ConcurrentDictionary<string, long> Registry { get; } = new(StringComparer.Ordinal);

    public void Scheduled(string deployId) => ScheduledAt.TryAdd(deployId, Stopwatch.GetTimestamp());

    /// <summary>Per deployment and method, its first call from the deployment grain (outgoing) or to it (incoming):
    /// when it started and how long it took. Where create → scheduled goes, step by step.</summary>
    public ConcurrentDictionary<(string DeployId, string Method), (long Start, double Ms)> Steps { get; } = new();

    async Task StepAsync(string deployId, string method, Func<Task> invoke)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await invoke();
        }
        finally
        {
            Steps.TryAdd((deployId, method), (start, Stopwatch.GetElapsedTime(start).TotalMilliseconds));
        }
    }

    static bool IsDeployment(GrainId? id) => id is { } grain && grain.Type.ToString() == "deployment";

    public void Reset()
    {
        _calls.Clear();
        PlacementMs.Clear();
        Steps.Clear();
        StartOutcomes.Clear();
        RankingAgeAtRefusalMs.Clear();
        Writes.Clear();
    }

    void Written(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var state = "(untagged)";
        foreach (var tag in tags)
        {
            if (tag.Key == "state_name")
            {
                state = $"{tag.Value}";
            }
        }

        Writes.AddOrUpdate(state, 1, (_, count) => count + 1);
    }

    public void Dispose() => _meters.Dispose();

    /// <summary>A placement's start on a node, as the deployment saw it: whether it asked the ranking's first candidate
    /// (the one the registry holds GPUs on) or a later one, the answer, and how old the ranking was when a node refused.</summary>
    async Task StartAsync(IOutgoingGrainCallContext context)
    {
        var ranked = context.SourceId is { } source ? _ranked.AddOrUpdate(source, _ => (Stopwatch.GetTimestamp(), 1), (_, r) => (r.At, r.Starts + 1)) : default;
        var candidate = ranked.Starts <= 1 ? "first" : "later";
        var outcome = "failed";
        try
        {
            await context.Invoke();
            outcome = context.Result is null ? "refused" : "placed";
        }
        catch (Exception e)
        {
            outcome = e is TimeoutException ? "timed_out" : "failed";
            throw;
        }
        finally
        {
            StartOutcomes.AddOrUpdate($"{candidate} candidate {outcome}", 1, (_, count) => count + 1);
        }

        if (outcome == "refused")
        {
            RankingAgeAtRefusalMs.Enqueue(Stopwatch.GetElapsedTime(ranked.At).TotalMilliseconds);
        }
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var grain = context.InterfaceMethod.DeclaringType!;
        if (grain.Namespace?.StartsWith("DeepDeploy.", StringComparison.Ordinal) != true)
        {
            await context.Invoke();
            return;
        }

        var start = Stopwatch.GetTimestamp();
        try
        {
            if (IsDeployment(context.TargetId))
            {
                await StepAsync(context.TargetId.Key.ToString()!, $"→ {context.MethodName}", context.Invoke);
            }
            else
            {
                await context.Invoke();
            }
        }
        finally
        {
            _calls.GetOrAdd($"{grain.Name}.{context.MethodName}", _ => new CallStats()).Add(Stopwatch.GetElapsedTime(start));
        }
    }

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (IsDeployment(context.SourceId) && context.InterfaceMethod.DeclaringType?.Namespace?.StartsWith("DeepDeploy.", StringComparison.Ordinal) == true)
        {
            await StepAsync(context.SourceId!.Value.Key.ToString()!, $"{context.InterfaceMethod.DeclaringType.Name}.{context.MethodName}", () => InvokeOutgoingAsync(context));
            return;
        }

        await InvokeOutgoingAsync(context);
    }

    async Task InvokeOutgoingAsync(IOutgoingGrainCallContext context)
    {
        if (context.MethodName == nameof(IRouteDirectoryGrain.Publish) && context.Request.GetArgument(0) is DeploymentRoute { Instances.Count: > 0 } route)
        {
            PublishedAt.TryAdd(route.DeployId, Stopwatch.GetTimestamp());
        }

        if (context.MethodName == nameof(IGpuNodeGrain.StartInstance) && context.InterfaceMethod.DeclaringType == typeof(IGpuNodeGrain))
        {
            await StartAsync(context);
            return;
        }

        if (context.MethodName != nameof(INodeRegistryGrain.FindNodes) || context.InterfaceMethod.DeclaringType != typeof(INodeRegistryGrain))
        {
            await context.Invoke();
            return;
        }

        var start = Stopwatch.GetTimestamp();
        await context.Invoke();
        PlacementMs.Enqueue(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        if (context.SourceId is { } deployment)
        {
            _ranked[deployment] = (Stopwatch.GetTimestamp(), 0);
        }
    }

    /// <summary>Calls of one grain method and the time they ran in the grain.</summary>
    public sealed class CallStats
    {
        long _count;
        long _ticks;

        public long Count => Interlocked.Read(ref _count);

        public TimeSpan Busy => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

        public void Add(TimeSpan elapsed)
        {
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _ticks, elapsed.Ticks);
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Deployments;

namespace DeepDeploy.Grains.Telemetry;

/// <summary>
/// The control plane's metrics, meter <see cref="MeterName"/>, one per silo. Gauges of a multi-silo cluster:
/// each grain activation writes its own snapshot here (deployments their instances, GPU nodes their GPUs) and
/// removes it when it deactivates, so each silo reports what it hosts and the cluster's value is the sum over
/// silos. Counters count what happened on this silo (autoscaler decisions, metered GPU time and spend).
/// </summary>
public sealed class ControlPlaneMetrics
{
    public const string MeterName = "DeepDeploy.ControlPlane";

    public const string InstanceStarts = "deepdeploy.node.instance_starts";

    public const string LeasesExpiredName = "deepdeploy.node_registry.leases_expired";

    public const string StallsSuspected = "deepdeploy.node_registry.stalls_suspected";

    readonly ConcurrentDictionary<string, DeploymentInstances> _instances = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, NodeCapacity> _gpus = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, (int From, int To)> _pendingScale = new(StringComparer.Ordinal);
    readonly Counter<long> _decisions;
    readonly Counter<double> _gpuTime;
    readonly Counter<double> _spend;
    readonly Counter<long> _leasesExpired;
    readonly Counter<long> _stalls;
    readonly Counter<long> _starts;

    public ControlPlaneMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("deepdeploy.instances", ObserveInstances, "{instance}",
            "Instances of each deployment hosted on this silo, by status (placed, downloading, starting, running, stopping).");
        meter.CreateObservableGauge("deepdeploy.gpus", ObserveGpus, "{gpu}",
            "GPUs of each node hosted on this silo, by type and state (used, free).");
        _decisions = meter.CreateCounter<long>("deepdeploy.autoscaler.decisions", "{decision}",
            "Changes of a deployment's wanted instance count, with the count before and after, the reason and the trigger.");
        _gpuTime = meter.CreateCounter<double>("deepdeploy.billing.gpu_time", "s", "GPU-seconds metered, per user and GPU type.");
        _spend = meter.CreateCounter<double>("deepdeploy.billing.spend", "USD", "Spend metered at the instances' prices, per user.");
        _leasesExpired = meter.CreateCounter<long>(LeasesExpiredName, "{node}",
            "Nodes the node registry declared lost because their lease ran out.");
        _stalls = meter.CreateCounter<long>(StallsSuspected, "{stall}",
            "Times most reporting nodes looked lost at once, so the registry expired none and suspected a stall on its own side.");
        _starts = meter.CreateCounter<long>(InstanceStarts, "{start}",
            "GpuNode.StartInstance answers by outcome: placed, already_placed (a retry), taken_recently (refused: another instance took the GPUs within a placement hold's length, a race) or no_room (refused: full for longer, the registry's view was stale).");
    }

    /// <summary>A deployment's instances changed (called by its activation after each change).</summary>
    public void SetInstances(string deployId, DeploymentState state)
    {
        if (state.Spec is { } spec)
        {
            _instances[deployId] = new DeploymentInstances(spec.FullModelName, InstanceStatuses.Count(state.Instances.Values));
        }
    }

    /// <summary>The deployment's activation is gone from this silo: another silo reports it from now on.</summary>
    public void RemoveDeployment(string deployId)
    {
        _instances.TryRemove(deployId, out _);
        _pendingScale.TryRemove(deployId, out _);
    }

    public void SetGpus(NodeCapacity capacity) => _gpus[capacity.Node] = capacity;

    public void RemoveNode(string node) => _gpus.TryRemove(node, out _);

    /// <summary>The autoscaler's answer at a tick. A decision is counted once when the wanted count differs from
    /// the live one, not at every tick that waits for it to be carried out; <paramref name="trigger"/> is the input that
    /// made the deployment decide (<see cref="ScaleTrigger"/>).</summary>
    public void Scaling(string deployId, int live, int desired, DeploymentSpec spec, string trigger)
    {
        if (live == desired)
        {
            _pendingScale.TryRemove(deployId, out _);
            return;
        }

        if (_pendingScale.TryGetValue(deployId, out var pending) && pending == (live, desired))
        {
            return;
        }

        _pendingScale[deployId] = (live, desired);
        _decisions.Add(1,
            new KeyValuePair<string, object?>(TelemetryTags.DeploymentId, deployId),
            new KeyValuePair<string, object?>(TelemetryTags.ScaleFrom, live),
            new KeyValuePair<string, object?>(TelemetryTags.ScaleTo, desired),
            new KeyValuePair<string, object?>(TelemetryTags.Reason, ScaleReason.Of(live, desired, spec.MinInstances, spec.MaxInstances)),
            new KeyValuePair<string, object?>(TelemetryTags.ScaleTrigger, trigger));
    }

    public void LeasesExpired(int nodes) => _leasesExpired.Add(nodes);

    public void StallSuspected() => _stalls.Add(1);

    /// <summary>How a node answered a placement (<see cref="TelemetryTags.StartOutcome"/>).</summary>
    public void InstanceStart(string outcome) => _starts.Add(1, new KeyValuePair<string, object?>(TelemetryTags.StartOutcome, outcome));

    /// <summary>A meter's instance served from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public void Metered(string user, MeterStart start, DateTimeOffset from, DateTimeOffset to)
    {
        if (to <= from)
        {
            return;
        }

        var gpuSeconds = (to - from).TotalSeconds * start.NumGpus;
        _gpuTime.Add(gpuSeconds, new KeyValuePair<string, object?>(TelemetryTags.User, user), new KeyValuePair<string, object?>(TelemetryTags.GpuType, start.Gpu));
        _spend.Add(gpuSeconds * (double)start.UsdPerGpuHour / 3600, new KeyValuePair<string, object?>(TelemetryTags.User, user));
    }

    IEnumerable<Measurement<int>> ObserveInstances() =>
        _instances.SelectMany(d => d.Value.ByStatus.Select(s => new Measurement<int>(s.Value,
            new KeyValuePair<string, object?>(TelemetryTags.DeploymentId, d.Key),
            new KeyValuePair<string, object?>(TelemetryTags.Model, d.Value.Model),
            new KeyValuePair<string, object?>(TelemetryTags.InstanceStatus, s.Key))));

    IEnumerable<Measurement<int>> ObserveGpus() =>
        _gpus.Values.SelectMany(node => node.Total.SelectMany(type =>
        {
            var free = node.Free.GetValueOrDefault(type.Key);
            return new[] { ("used", type.Value - free), ("free", free) }.Select(s => new Measurement<int>(s.Item2,
                new KeyValuePair<string, object?>(TelemetryTags.Node, node.Node),
                new KeyValuePair<string, object?>(TelemetryTags.GpuType, type.Key),
                new KeyValuePair<string, object?>(TelemetryTags.GpuState, s.Item1)));
        }));
}

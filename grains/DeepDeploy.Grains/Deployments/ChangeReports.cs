using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Events;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Used by a deployment grain: what the owner is told of its decisions. A status change, a scaling decision or a
/// placement (and an owner's new settings) becomes one event, once per change, wherever in the grain it was decided. Seeded at activation with the
/// stored status, so that an activation does not repeat what the last one reported.
/// </summary>
public sealed class ChangeReports(string deployId, InstanceDemand demand, TimeProvider time, Func<DeploymentEvents> events, ILogger log,
    DeploymentStatus? reportedStatus)
{
    (int From, int To)? _reportedScaling;

    /// <summary>A status change since the last one reported becomes an event.</summary>
    public void Status(DeploymentState s, string why)
    {
        if (s.Spec is null || reportedStatus == s.Status)
        {
            return;
        }

        var from = reportedStatus;
        reportedStatus = s.Status;
        var to = s.Status.ToString().ToLowerInvariant();
        events().Add(DeploymentEventKind.StatusChanged,
            from is null ? $"{to}: {why}" : $"{from.Value.ToString().ToLowerInvariant()} -> {to}: {s.FailReason ?? why}",
            e => e with { FromStatus = from, ToStatus = s.Status, FailureReason = s.Status == DeploymentStatus.Failed ? s.FailReason : null });
    }

    /// <summary>The owner changed the instance bounds.</summary>
    public void Settings(DeploymentSpec before, DeploymentSpec after) =>
        events().Add(DeploymentEventKind.SettingsChanged,
            $"settings: instances {before.MinInstances}..{before.MaxInstances} -> {after.MinInstances}..{after.MaxInstances}",
            e => e with { MinInstancesBefore = before.MinInstances, MaxInstancesBefore = before.MaxInstances, MinInstancesAfter = after.MinInstances, MaxInstancesAfter = after.MaxInstances });

    /// <summary>A decision to run another number of instances than live now, with its inputs and what triggered it; once per decision.</summary>
    public void Scaling(DeploymentSpec spec, int live, int desired, string trigger)
    {
        if (desired == live)
        {
            _reportedScaling = null;
            return;
        }

        if (_reportedScaling == (live, desired))
        {
            return;
        }

        _reportedScaling = (live, desired);
        var (inFlight, waiting, _) = demand.Totals(time.GetUtcNow());
        var load = inFlight + waiting;
        var reason = desired == spec.MinInstances && desired > live ? "min_instances"
            : desired == spec.MaxInstances && desired < live ? "max_instances"
            : load > 0 ? "load" : desired > live ? "cold start" : "idle";
        var queue = waiting > 0 ? $", {waiting} waiting up to {demand.OldestWait(time.GetUtcNow()).TotalMilliseconds:F0} ms" : "";
        log.LogInformation("Deployment {DeployId} scales {From} -> {To} ({Reason}, load {Load}{Queue}, trigger {Trigger})", deployId, live, desired, reason, load, queue, trigger);
        events().Add(DeploymentEventKind.ScalingDecision,
            $"scale {(desired > live ? "up" : "down")} {live} -> {desired} instances ({reason}, load {load}{queue}, trigger {trigger})",
            e => e with { Load = load, Instances = live, Target = desired, Reason = reason, Trigger = trigger });
    }

    /// <summary>Where the instances of one pass were placed.</summary>
    public void Placed(DeploymentState s, IEnumerable<NodeAllocation> placements)
    {
        foreach (var placed in placements)
        {
            events().Add(DeploymentEventKind.Placed, $"instance {placed.InstanceId} placed on {s.Instances[placed.InstanceId].Node}, GPUs {string.Join(',', placed.GpuIndices)}",
                e => e with { InstanceId = placed.InstanceId, Node = s.Instances[placed.InstanceId].Node, Gpus = placed.GpuIndices.ToArray() });
        }
    }
}

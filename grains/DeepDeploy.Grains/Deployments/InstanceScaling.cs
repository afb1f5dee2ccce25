using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Grains.Events;
using DeepDeploy.Grains.Telemetry;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Used by a deployment grain: the scaling step of its control loop, from the number of instances wanted to placements
/// and drains. It decides the count (<see cref="InstanceDemand"/>), places what is missing while billing allows
/// (<see cref="InstancePlacer"/>, <see cref="CapacityClaims"/>), tells the owner what waits and why, gives up on what no
/// node could ever hold, and drains the surplus newest first.
/// </summary>
public sealed class InstanceScaling(string deployId, InstanceDemand demand, InstancePlacer placer, CapacityClaims capacity, InstanceStops stops,
    InstanceLifecycle lifecycle, ChangeReports reports, PlacementTrace trace, ControlPlaneMetrics metrics, AutoscalerOptions autoscaler, TimeProvider time, Func<DeploymentEvents> events)
{
    /// <summary>One pass; <paramref name="save"/> persists the state when the placer records its intents.</summary>
    public async Task ScaleAsync(DeploymentState s, DeploymentSpec spec, bool mayRun, Func<Task> save)
    {
        var live = s.Instances.Values.Where(i => !i.Stopping).ToList();
        var (desired, trigger) = demand.Decide(spec.MinInstances, spec.MaxInstances, spec.MaxBatchSize, live.Count, time.GetUtcNow());
        metrics.Scaling(deployId, live.Count, desired, spec, trigger);
        reports.Scaling(spec, live.Count, desired, trigger);
        using var placing = trace.Start(deployId, live.Count, desired);
        var placements = desired > live.Count && mayRun
            ? await placer.PlaceAsync(s, desired - live.Count, save, n => capacity.MayPlaceAsync(s, desired, n))
            : [];
        lifecycle.Started(placements);
        reports.Placed(s, placements);
        placing?.Dispose();
        await ReportCapacityAsync(s, desired);
        if (placer.GiveUp(s) is { } unplaceable)
        {
            s.SetStatus(DeploymentStatus.Failed, unplaceable, time.GetUtcNow());
        }

        var surplus = live.Count - desired;
        if (surplus > 0)
        {
            // Newest first: the oldest instances are the warmest. Out of the routes now, stopped after the drain delay.
            stops.Drain(live.OrderByDescending(i => i.Seq).Take(surplus), autoscaler.DrainDelay);
        }
    }

    /// <summary>Tells the GPU type's arbiter what the deployment holds and whether it still waits for GPUs; a change in
    /// what is missing and why is an event for the owner ("running N of wanted M: why").</summary>
    async Task ReportCapacityAsync(DeploymentState s, int desired)
    {
        var live = s.Instances.Values.Count(i => !i.Stopping);
        var refusal = live < desired ? placer.Refusal : null;
        await capacity.ReportAsync(s, desired, waiting: refusal is not null && placer.WaitsForCapacity);
        if (capacity.Settle(live, desired, refusal))
        {
            events().Add(DeploymentEventKind.CapacityWait, capacity.Pending ?? $"no instance waits any more: running {live}, wanted {desired}",
                e => e with { Instances = live, Target = desired, Reason = refusal });
        }
    }
}

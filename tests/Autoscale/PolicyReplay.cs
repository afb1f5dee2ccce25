using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;

namespace DeepDeploy.Tests.Autoscale;

/// <summary>
/// The <see cref="BurstyTrace"/> replayed through the autoscaler's decision code alone (<see cref="InstanceDemand"/>
/// and the chosen <see cref="IScalingPolicy"/>, on a simulated clock), with instances that serve
/// <paramref name="startTime"/> after the decision that asked for them and stop serving at the decision that removes
/// them (newest first, as the deployment drains). It measures what the policy does, given a start-up time, apart from
/// the control plane's own latency: the cluster benchmark (<c>AutoscalerBenchmark</c>) measures both together.
/// Accounting as in that benchmark: at a step's end, GPU-seconds += serving × step, and the step's requests beyond
/// serving × max_batch_size are over the SLO (they waited).
/// </summary>
public sealed class PolicyReplay(AutoscalerOptions options, TimeSpan startTime)
{
    public (double GpuSeconds, int Over) Run()
    {
        var demand = new InstanceDemand(options);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var instances = new List<DateTimeOffset>(); // when each live instance serves, oldest first
        DateTimeOffset? queuedSince = null;
        double gpuSeconds = 0;
        var over = 0;
        for (var i = 0; i < BurstyTrace.Steps.Count; i++)
        {
            var now = start + BurstyTrace.Step * i;
            var load = BurstyTrace.Steps[i];
            var serving = instances.Count(at => at <= now);
            var inFlight = Math.Min(load, serving * BurstyTrace.MaxBatch);
            queuedSince = load > inFlight ? queuedSince ?? now : null;
            demand.Report(new GatewayLoad("replay", inFlight, load - inFlight, 0,
                load > inFlight ? LoadTrigger.GatewayQueue : LoadTrigger.PeriodicReport, now - (queuedSince ?? now)), now);
            var (desired, _) = demand.Decide(0, BurstyTrace.MaxInstances, BurstyTrace.MaxBatch, instances.Count, now);
            if (desired > instances.Count)
            {
                instances.AddRange(Enumerable.Repeat(now + startTime, desired - instances.Count));
            }
            else
            {
                instances.RemoveRange(desired, instances.Count - desired);
            }

            var end = now + BurstyTrace.Step;
            serving = instances.Count(at => at <= end);
            gpuSeconds += serving * BurstyTrace.Step.TotalSeconds;
            over += Math.Max(0, load - serving * BurstyTrace.MaxBatch);
        }

        return (gpuSeconds, over);
    }
}

using DeepDeploy.Simulation.Engine;
using DeepDeploy.Simulation.Gateway;
using DeepDeploy.Simulation.Metrics;

namespace DeepDeploy.Simulation;

/// <summary>Everything a run measured. Times are simulated seconds unless a name says milliseconds (real).</summary>
public sealed class SimulationResult
{
    public required SimulationOptions Options { get; init; }

    public required IReadOnlyList<DeploymentPlan> Deployments { get; init; }

    /// <summary>Requests of the workload (each has one outcome).</summary>
    public required int Requests { get; init; }

    public required IReadOnlyList<RequestOutcome> Outcomes { get; init; }

    /// <summary>Every engine the nodes started, stopped by the end of the run.</summary>
    public required IReadOnlyList<SimulatedEngine> Engines { get; init; }

    public required IReadOnlyList<Sample> Samples { get; init; }

    /// <summary>Control-plane calls by "IGrain.Method", real milliseconds.</summary>
    public required IReadOnlyDictionary<string, Percentiles> Calls { get; init; }

    /// <summary>Create call start → min_instances launched on nodes, per deployment with min ≥ 1 (real ms).</summary>
    public required Percentiles CreateToScheduledMilliseconds { get; init; }

    /// <summary>An instance began serving → every gateway's route table had it (real ms).</summary>
    public required Percentiles RouteToAllGatewaysMilliseconds { get; init; }

    /// <summary>GPU-seconds the billing ledgers charged, in simulated seconds, and their cost (USD at the
    /// simulated duration).</summary>
    public required double BilledGpuSeconds { get; init; }

    public required decimal BilledUsd { get; init; }

    /// <summary>GPU-seconds the engines served (serving start → stop, × GPUs).</summary>
    public double ServedGpuSeconds => Engines.Where(e => e.ServingSince is not null).Sum(e => (e.StoppedAt!.Value - e.ServingSince!.Value) * e.NumGpus);

    /// <summary>What billing may charge: a meter opens when the deployment hears its instance runs (between the engine
    /// starting to serve and the report's answer) and closes when the deployment stops the instance or hears it
    /// exited (between the deployment's decision, at most one grain call before the engine stops, and the exit
    /// report's answer). Lower: serving after the running report until the stop; upper: serving start until the
    /// exit report. <paramref name="stopCall"/> is that one grain call's allowance (simulated seconds).</summary>
    public (double Lower, double Upper) BillableGpuSeconds(double stopCall) =>
        (Engines.Where(e => e.ServingSince is not null).Sum(e => Math.Max(0, e.StoppedAt!.Value - stopCall - (e.RunningReported ?? e.StoppedAt!.Value)) * e.NumGpus),
         Engines.Where(e => e.ServingSince is not null).Sum(e => ((e.ExitReported ?? e.StoppedAt!.Value) - e.ServingSince!.Value) * e.NumGpus));

    /// <summary>GPU-seconds held from launch to stop (start-up included).</summary>
    public double HeldGpuSeconds => Engines.Sum(e => (e.StoppedAt!.Value - e.LaunchedAt) * e.NumGpus);

    /// <summary>The most GPUs each user held at once.</summary>
    public required IReadOnlyDictionary<string, int> PeakUserGpus { get; init; }

    public required double WorkloadStart { get; init; }

    public required TimeSpan RealDuration { get; init; }
}

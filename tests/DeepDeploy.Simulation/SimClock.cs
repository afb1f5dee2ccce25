using System.Diagnostics;

namespace DeepDeploy.Simulation;

/// <summary>
/// The compressed wall clock: simulated time runs <see cref="Compression"/> times faster than real time. The
/// workload, the simulated engines and every control-plane duration that is an option (load reports, route
/// renewals, autoscaler windows, drain delay, queue deadlines) are divided by it; the grains' own fixed periods
/// (the 2 s reconcile tick, the 1 s node heartbeat) and every real cost (grain calls, storage) are not, so they
/// appear <see cref="Compression"/> times longer in simulated time (docs/simulation.md, "Time").
/// </summary>
public sealed class SimClock(double compression)
{
    readonly long _start = Stopwatch.GetTimestamp();

    public double Compression { get; } = compression >= 1 ? compression : throw new ArgumentOutOfRangeException(nameof(compression), "at least 1");

    /// <summary>Simulated seconds since the clock started.</summary>
    public double Now => Stopwatch.GetElapsedTime(_start).TotalSeconds * Compression;

    /// <summary>The real duration of <paramref name="simulatedSeconds"/>.</summary>
    public TimeSpan Real(double simulatedSeconds) => TimeSpan.FromSeconds(simulatedSeconds / Compression);

    /// <summary>The real duration of a simulated one.</summary>
    public TimeSpan Real(TimeSpan simulated) => simulated / Compression;

    /// <summary>Waits until simulated time <paramref name="at"/>.</summary>
    public Task UntilAsync(double at, CancellationToken cancellationToken = default)
    {
        var left = at - Now;
        return left > 0 ? Task.Delay(Real(left), cancellationToken) : Task.CompletedTask;
    }
}

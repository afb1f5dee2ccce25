using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Telemetry;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Demand for a deployment's instances as its gateways see it, kept in the deployment grain's memory: cold-start
/// wake-ups (<see cref="Request"/>) and the per-gateway load reports (periodic, and immediate when a gateway's queue
/// grows). The <see cref="IScalingPolicy"/> chosen by <see cref="AutoscalerOptions.Policy"/> turns the total load
/// (in flight + waiting over all gateways) into a count; around it this type keeps at least one instance while
/// requests came in the last <see cref="AutoscalerOptions.IdleBeforeScaleToZero"/>, min_instances and
/// max_instances, and remembers which input asked for the next decision (<see cref="ScaleTrigger"/>).
/// </summary>
public sealed class InstanceDemand(AutoscalerOptions options)
{
    /// <summary>A gateway's report counts for this long (gateways report every few seconds).</summary>
    public static readonly TimeSpan ReportTtl = TimeSpan.FromSeconds(30);

    readonly Dictionary<string, (GatewayLoad Load, DateTimeOffset At)> _reports = new(StringComparer.Ordinal);
    readonly IScalingPolicy _policy = ScalingPolicies.Create(options);
    DateTimeOffset _wantedUntil = DateTimeOffset.MinValue;
    string _latest = ScaleTrigger.ControlLoop;
    string? _pending;
    int? _decided;

    /// <summary>New settings act at once: instances the measured load does not need go without a cooldown.</summary>
    public void SettingsChanged()
    {
        _policy.SettingsChanged();
        _pending ??= ScaleTrigger.Settings;
    }

    /// <summary>A gateway holds requests and no instance serves: want one now.</summary>
    public void Request(DateTimeOffset now)
    {
        KeepWanted(now);
        _pending ??= ScaleTrigger.ColdStart;
    }

    public void Report(GatewayLoad load, DateTimeOffset now)
    {
        _reports[load.GatewayId] = (load, now);
        _latest = ScaleTrigger.Of(load.Trigger);
        if (load.InFlight + load.Waiting > 0)
        {
            KeepWanted(now);
        }

        var (inFlight, waiting, _) = Totals(now);
        _policy.Observe(inFlight + waiting, now);
    }

    /// <summary>Whether the load now asks for another count than runs and than the last decision: then the
    /// deployment decides at once rather than at its next tick, and the latest report's trigger is recorded.</summary>
    public bool Changes(int minInstances, int maxInstances, int maxBatchSize, int live, DateTimeOffset now)
    {
        var desired = Desired(minInstances, maxInstances, maxBatchSize, live, now);
        if (desired == live || desired == _decided)
        {
            return false;
        }

        _pending ??= _latest;
        return true;
    }

    /// <summary>A control-loop turn's decision: <see cref="Desired"/> and what triggered it (the input that asked
    /// for a decision since the last turn, else the loop's own tick).</summary>
    public (int Desired, string Trigger) Decide(int minInstances, int maxInstances, int maxBatchSize, int live, DateTimeOffset now)
    {
        var desired = Desired(minInstances, maxInstances, maxBatchSize, live, now);
        var trigger = _pending ?? ScaleTrigger.ControlLoop;
        _pending = null;
        _decided = desired;
        return (desired, trigger);
    }

    /// <summary>What the load alone asks for, within [min, max], ignoring the policy's stabilization.</summary>
    public int Target(int minInstances, int maxInstances, int maxBatchSize, DateTimeOffset now) =>
        Math.Clamp(_policy.Target(Input(minInstances, maxBatchSize, 0, now)), 0, maxInstances);

    /// <summary>Instances to run now, given <paramref name="current"/> live ones, as the policy decides within
    /// [min, max] (settings changes are obeyed at once: min and max bound the answer).</summary>
    public int Desired(int minInstances, int maxInstances, int maxBatchSize, int current, DateTimeOffset now) =>
        Math.Clamp(_policy.Desired(Input(minInstances, maxBatchSize, current, now)), 0, maxInstances);

    /// <summary>Sum of the fresh reports of all gateways.</summary>
    public (int InFlight, int Waiting, long Refused) Totals(DateTimeOffset now)
    {
        foreach (var stale in _reports.Where(r => now - r.Value.At > ReportTtl).Select(r => r.Key).ToList())
        {
            _reports.Remove(stale);
        }

        return (_reports.Values.Sum(r => r.Load.InFlight), _reports.Values.Sum(r => r.Load.Waiting), _reports.Values.Sum(r => r.Load.Refused));
    }

    /// <summary>The longest a queued request had waited at any gateway when it last reported (zero with no queue): as
    /// reported, not aged, since a gateway whose queue drained may not have said so yet.</summary>
    public TimeSpan OldestWait(DateTimeOffset now) =>
        _reports.Values.Where(r => now - r.At <= ReportTtl && r.Load.Waiting > 0).Select(r => r.Load.OldestWait).DefaultIfEmpty().Max();

    ScalingInput Input(int minInstances, int maxBatchSize, int current, DateTimeOffset now)
    {
        var (inFlight, waiting, _) = Totals(now);
        return new ScalingInput(inFlight + waiting, Math.Max(minInstances, now < _wantedUntil ? 1 : 0), current, maxBatchSize, now) { Waiting = waiting };
    }

    void KeepWanted(DateTimeOffset now)
    {
        var until = now + options.IdleBeforeScaleToZero;
        _wantedUntil = until > _wantedUntil ? until : _wantedUntil;
    }
}

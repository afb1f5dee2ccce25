using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Demand for a deployment's instances as its gateways see it, kept in the deployment grain's memory: cold-start
/// wake-ups (<see cref="Request"/>) and the periodic per-gateway load reports. From them the autoscaler derives
/// how many instances to run: <c>clamp(ceil(load / (max_batch_size × target utilization)), min, max)</c> with
/// load = requests in flight + waiting over all gateways; at least one while requests came in the last
/// <see cref="AutoscalerOptions.IdleBeforeScaleToZero"/>; up at once, down only after the load stayed low for
/// <see cref="AutoscalerOptions.ScaleDownCooldown"/>, except right after a settings change.
/// </summary>
public sealed class InstanceDemand(AutoscalerOptions options)
{
    /// <summary>A gateway's report counts for this long (gateways report every few seconds).</summary>
    public static readonly TimeSpan ReportTtl = TimeSpan.FromSeconds(30);

    readonly Dictionary<string, (GatewayLoad Load, DateTimeOffset At)> _reports = new(StringComparer.Ordinal);
    DateTimeOffset _wantedUntil = DateTimeOffset.MinValue;
    DateTimeOffset? _lowSince;

    /// <summary>New settings act at once: instances the measured load does not need go without a cooldown.</summary>
    public void SettingsChanged() => _lowSince = DateTimeOffset.MinValue;

    /// <summary>A gateway holds requests and no instance serves: want one now.</summary>
    public void Request(DateTimeOffset now) => _wantedUntil = Max(_wantedUntil, now + options.IdleBeforeScaleToZero);

    public void Report(GatewayLoad load, DateTimeOffset now)
    {
        _reports[load.GatewayId] = (load, now);
        if (load.InFlight + load.Waiting > 0)
        {
            Request(now);
        }
    }

    /// <summary>What the load alone asks for, within [min, max], ignoring the cooldown.</summary>
    public int Target(int minInstances, int maxInstances, int maxBatchSize, DateTimeOffset now)
    {
        var (inFlight, waiting, _) = Totals(now);
        var byLoad = (int)Math.Ceiling((inFlight + waiting) / (maxBatchSize * options.TargetUtilization));
        if (now < _wantedUntil)
        {
            byLoad = Math.Max(byLoad, 1);
        }

        return Math.Clamp(Math.Max(minInstances, byLoad), 0, maxInstances);
    }

    /// <summary>Instances to run now, given <paramref name="current"/> live ones: up at once; down only after the
    /// cooldown (settings changes are obeyed at once: min and max bound the answer).</summary>
    public int Desired(int minInstances, int maxInstances, int maxBatchSize, int current, DateTimeOffset now)
    {
        var target = Target(minInstances, maxInstances, maxBatchSize, now);
        if (target >= current || current > maxInstances)
        {
            _lowSince = null;
            return target;
        }

        _lowSince ??= now;
        return now - _lowSince >= options.ScaleDownCooldown ? target : Math.Max(current, minInstances);
    }

    /// <summary>Sum of the fresh reports of all gateways.</summary>
    public (int InFlight, int Waiting, long Refused) Totals(DateTimeOffset now)
    {
        foreach (var stale in _reports.Where(r => now - r.Value.At > ReportTtl).Select(r => r.Key).ToList())
        {
            _reports.Remove(stale);
        }

        return (_reports.Values.Sum(r => r.Load.InFlight), _reports.Values.Sum(r => r.Load.Waiting), _reports.Values.Sum(r => r.Load.Refused));
    }

    static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

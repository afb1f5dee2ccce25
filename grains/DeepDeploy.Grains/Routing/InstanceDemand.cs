using DeepDeploy.Contracts.Routing;

namespace DeepDeploy.Grains.Routing;

/// <summary>
/// Demand for a deployment's instances as its gateways see it, kept in the deployment grain's memory: cold-start
/// wake-ups (<see cref="Request"/>) and the periodic per-gateway load reports. It keeps a min_instances 0
/// deployment at one instance while there is demand, and for <see cref="IdleBeforeScaleToZero"/> after the last
/// of it. The reports are also the input the autoscaler will read (<see cref="Totals"/>).
/// </summary>
public sealed class InstanceDemand
{
    public static readonly TimeSpan IdleBeforeScaleToZero = TimeSpan.FromMinutes(5);

    /// <summary>A gateway's report counts for this long (gateways report every few seconds).</summary>
    public static readonly TimeSpan ReportTtl = TimeSpan.FromSeconds(30);

    readonly Dictionary<string, (GatewayLoad Load, DateTimeOffset At)> _reports = new(StringComparer.Ordinal);
    DateTimeOffset _wantedUntil = DateTimeOffset.MinValue;

    /// <summary>A gateway holds requests and no instance serves: want one now.</summary>
    public void Request(DateTimeOffset now) => _wantedUntil = Max(_wantedUntil, now + IdleBeforeScaleToZero);

    public void Report(GatewayLoad load, DateTimeOffset now)
    {
        _reports[load.GatewayId] = (load, now);
        if (load.InFlight + load.Waiting > 0)
        {
            Request(now);
        }
    }

    /// <summary>Instances to run: min_instances, or 1 while there is demand, within [0, max_instances].</summary>
    public int Desired(int minInstances, int maxInstances, DateTimeOffset now) =>
        Math.Clamp(Math.Max(minInstances, now < _wantedUntil ? 1 : 0), 0, maxInstances);

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

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// The SLO policy (<c>Slo</c>): an instance carries up to <see cref="SloPolicyOptions.TargetConcurrency"/> ×
/// max_batch_size; beyond that requests wait in the gateways' queues, which is what the SLO forbids. So:
/// <list type="bullet">
/// <item>up at once to what the load needs now (<c>ceil(load / (max_batch_size × TargetConcurrency))</c>), and while
/// requests wait at gateways a surge of <see cref="SloPolicyOptions.QueueSurge"/> of the queue's own instances on top,
/// let go as soon as no request waits;</item>
/// <item>panic window: never below what the peak load of the last <see cref="SloPolicyOptions.PanicWindow"/> needed,
/// so that a burst's instances stay between its waves;</item>
/// <item>predictive scale-down: over the <see cref="SloPolicyOptions.StableWindow"/> the load's trend (least squares)
/// is extrapolated <see cref="SloPolicyOptions.ScaleDownLead"/> ahead, no higher than the window's peak; a rising
/// trend keeps the instances it will need again before a new one could start, a flat or falling one lets them go as soon as the panic window's peak fits
/// fewer — no fixed cooldown.</item>
/// </list>
/// </summary>
public sealed class SloPolicy(SloPolicyOptions options) : IScalingPolicy
{
    /// <summary>At most this many samples per stable window: closer samples merge (keeping the peak).</summary>
    const int Resolution = 256;

    readonly Queue<(DateTimeOffset At, int Load)> _samples = new();
    (DateTimeOffset At, int Load)? _last;

    public void Observe(int load, DateTimeOffset now)
    {
        if (_last is { } last && now - last.At < options.StableWindow / Resolution)
        {
            _last = (last.At, Math.Max(last.Load, load));
            return;
        }

        if (_last is { } done)
        {
            _samples.Enqueue(done);
        }

        _last = (now, load);
        while (_samples.TryPeek(out var oldest) && now - oldest.At > Longest)
        {
            _samples.Dequeue();
        }
    }

    public int Target(ScalingInput input) => Math.Max(input.Floor, Need(input.Load, input.MaxBatchSize));

    public int Desired(ScalingInput input)
    {
        var target = Target(input) + (int)Math.Floor(options.QueueSurge * input.Waiting / input.MaxBatchSize);
        if (target >= input.Current)
        {
            return target;
        }

        var peak = Samples(input.Now, options.PanicWindow).Select(s => s.Load).DefaultIfEmpty(0).Max();
        // The trend keeps only instances the stable window's peak needed: a step up (a burst's onset) is no slope to
        // extrapolate, and must not hold a surge through the burst.
        var recent = Samples(input.Now, options.StableWindow).Select(s => s.Load).DefaultIfEmpty(0).Max();
        var predicted = Math.Min(recent, input.Load + Math.Max(0, Slope(input.Now)) * options.ScaleDownLead.TotalSeconds);
        return Math.Min(input.Current, Math.Max(target, Need(Math.Max(peak, predicted), input.MaxBatchSize)));
    }

    public void SettingsChanged()
    {
        _samples.Clear();
        _last = null;
    }

    TimeSpan Longest => options.StableWindow > options.PanicWindow ? options.StableWindow : options.PanicWindow;

    int Need(double load, int maxBatchSize) => (int)Math.Ceiling(load / (maxBatchSize * options.TargetConcurrency));

    IEnumerable<(DateTimeOffset At, int Load)> Samples(DateTimeOffset now, TimeSpan window) =>
        _samples.Concat(_last is { } last ? [last] : []).Where(s => now - s.At <= window);

    /// <summary>The load's trend over the stable window, in requests per second (0 with fewer than two samples).</summary>
    double Slope(DateTimeOffset now)
    {
        var points = Samples(now, options.StableWindow).Select(s => ((s.At - now).TotalSeconds, (double)s.Load)).ToList();
        if (points.Count < 2)
        {
            return 0;
        }

        var meanX = points.Average(p => p.Item1);
        var meanY = points.Average(p => p.Item2);
        var spread = points.Sum(p => (p.Item1 - meanX) * (p.Item1 - meanX));
        return spread == 0 ? 0 : points.Sum(p => (p.Item1 - meanX) * (p.Item2 - meanY)) / spread;
    }
}

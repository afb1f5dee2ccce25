using System.Globalization;

namespace DeepDeploy.Tests.Soak;

/// <summary>
/// Whether a sampled series grows: the least-squares slope over the second half of the samples (the first half is
/// warm-up: JIT, pools, caches filling), projected over that half's span, compared with an allowance of
/// <c>max(floor, 10 % of the half's median)</c>, and confirmed by the series' lows: the minimum over the last quarter of
/// the samples must have risen above the minimum over the third quarter by half the allowance. A leak lifts the
/// lows too and fails; noise, a plateau and churn (connections closing and reopening, a GC sawtooth) keep their lows
/// and do not, even when a burst at the end tilts the slope.
/// </summary>
public sealed record Trend(double SlopePerHour, double Growth, double Allowance, double LowRise)
{
    public const double Share = 0.10;

    public bool Grows => Growth > Allowance && LowRise > Allowance / 2;

    /// <param name="samples">(seconds since start, value), in time order.</param>
    /// <param name="floor">The growth always allowed, in the series' unit (e.g. 32 MiB of RSS, 16 descriptors).</param>
    public static Trend Of(IReadOnlyList<(double Seconds, double Value)> samples, double floor)
    {
        var half = samples.Skip(samples.Count / 2).ToList();
        if (half.Count < 2)
        {
            return new Trend(0, 0, floor, 0);
        }

        var meanT = half.Average(s => s.Seconds);
        var meanV = half.Average(s => s.Value);
        var covariance = half.Sum(s => (s.Seconds - meanT) * (s.Value - meanV));
        var variance = half.Sum(s => (s.Seconds - meanT) * (s.Seconds - meanT));
        var slope = variance == 0 ? 0 : covariance / variance;
        var span = half[^1].Seconds - half[0].Seconds;
        var sorted = half.Select(s => s.Value).Order().ToList();
        var median = sorted[sorted.Count / 2];
        var lowRise = half.Skip(half.Count / 2).Min(s => s.Value) - half.Take(half.Count / 2).Min(s => s.Value);
        return new Trend(slope * 3600, slope * span, Math.Max(floor, Share * median), lowRise);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{SlopePerHour:+0.#;-0.#;0}/h");
}

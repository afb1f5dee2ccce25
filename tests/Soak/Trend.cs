using System.Globalization;

namespace DeepDeploy.Tests.Soak;

/// <summary>
/// Whether a sampled series grows: the least-squares slope over the second half of the samples (the first half is
/// warm-up: JIT, pools, caches filling), projected over that half's span, compared with an allowance of
/// <c>max(floor, 10 % of the half's median)</c>. A leak grows steadily and fails; noise and a plateau do not.
/// </summary>
public sealed record Trend(double SlopePerHour, double Growth, double Allowance)
{
    public const double Share = 0.10;

    public bool Grows => Growth > Allowance;

    /// <param name="samples">(seconds since start, value), in time order.</param>
    /// <param name="floor">The growth always allowed, in the series' unit (e.g. 32 MiB of RSS, 16 descriptors).</param>
    public static Trend Of(IReadOnlyList<(double Seconds, double Value)> samples, double floor)
    {
        var half = samples.Skip(samples.Count / 2).ToList();
        if (half.Count < 2)
        {
            return new Trend(0, 0, floor);
        }

        var meanT = half.Average(s => s.Seconds);
        var meanV = half.Average(s => s.Value);
        var covariance = half.Sum(s => (s.Seconds - meanT) * (s.Value - meanV));
        var variance = half.Sum(s => (s.Seconds - meanT) * (s.Seconds - meanT));
        var slope = variance == 0 ? 0 : covariance / variance;
        var span = half[^1].Seconds - half[0].Seconds;
        var sorted = half.Select(s => s.Value).Order().ToList();
        var median = sorted[sorted.Count / 2];
        return new Trend(slope * 3600, slope * span, Math.Max(floor, Share * median));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{SlopePerHour:+0.#;-0.#;0}/h");
}

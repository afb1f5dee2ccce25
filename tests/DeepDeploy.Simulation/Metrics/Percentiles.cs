namespace DeepDeploy.Simulation.Metrics;

/// <summary>Nearest-rank percentiles of a sample.</summary>
public sealed class Percentiles
{
    readonly double[] _sorted;

    public Percentiles(IEnumerable<double> values)
    {
        _sorted = values.ToArray();
        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    public double Max => _sorted.Length == 0 ? double.NaN : _sorted[^1];

    public double Mean => _sorted.Length == 0 ? double.NaN : _sorted.Average();

    /// <param name="p">0-100.</param>
    public double At(double p) =>
        _sorted.Length == 0 ? double.NaN : _sorted[Math.Clamp((int)Math.Ceiling(p / 100 * _sorted.Length) - 1, 0, _sorted.Length - 1)];
}

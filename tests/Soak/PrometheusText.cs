using System.Globalization;

namespace DeepDeploy.Tests.Soak;

/// <summary>Reads the Prometheus text format the processes' /metrics serve (value, then perhaps a timestamp).</summary>
public static class PrometheusText
{
    /// <summary>Sum of a series' samples over every label set (or those containing <paramref name="label"/>);
    /// null when the series is absent.</summary>
    public static double? Sum(string text, string series, string? label = null)
    {
        double? sum = null;
        foreach (var line in text.Split('\n'))
        {
            var nameEnd = line.IndexOfAny([' ', '{']);
            if (nameEnd <= 0 || line[0] == '#' || !line.AsSpan(0, nameEnd).SequenceEqual(series)
                || (label is not null && !line.Contains(label, StringComparison.Ordinal)))
            {
                continue;
            }

            var valueStart = line[nameEnd] == '{' ? line.IndexOf('}', nameEnd) + 1 : nameEnd;
            var parts = line[valueStart..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sum = (sum ?? 0) + value;
            }
        }

        return sum;
    }
}

using System.Globalization;

namespace DeepDeploy.Tests.Telemetry;

/// <summary>Reads series out of a Prometheus text exposition.</summary>
public static class PrometheusText
{
    /// <summary>The sum of the samples of <paramref name="name"/> whose labels include all of <paramref name="labels"/>
    /// (null when there is none).</summary>
    public static double? Sum(string text, string name, params (string Key, string Value)[] labels)
    {
        double? sum = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal)
                || line.Length == name.Length || (line[name.Length] != '{' && line[name.Length] != ' '))
            {
                continue;
            }

            var close = line.LastIndexOf('}');
            var labelText = line[name.Length] == '{' ? line[(name.Length + 1)..close] : "";
            if (!labels.All(l => labelText.Contains($"{l.Key}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                continue;
            }

            var value = line[((close < 0 ? name.Length : close) + 1)..].Trim().Split(' ')[0];
            sum = (sum ?? 0) + double.Parse(value, CultureInfo.InvariantCulture);
        }

        return sum;
    }

    /// <summary>Every sample of <paramref name="name"/>, one per label set.</summary>
    public static IEnumerable<double> Samples(string text, string name) =>
        text.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(line => double.Parse(line[(line.LastIndexOf('}') is var close and >= 0 ? close + 1 : name.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
}

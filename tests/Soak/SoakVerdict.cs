using System.Globalization;
using System.Text;

namespace DeepDeploy.Tests.Soak;

/// <summary>
/// The soak's table: per process and resource, first and last sample, the second half's slope per hour and
/// whether it grows (<see cref="Trend"/>) against these floors: RSS and GC heap 32 MiB, descriptors and TCP
/// connections 16, threads 8 (each also allowed 10 % of its level).
/// </summary>
public static class SoakVerdict
{
    static readonly (string Name, Func<SoakSample, double?> Value, double Floor, string Format)[] Resources =
    [
        ("RSS MiB", s => s.RssMiB, 32, "0"),
        ("GC heap MiB", s => s.GcHeapMiB, 32, "0.0"),
        ("fds", s => s.Fds, 16, "0"),
        ("threads", s => s.Threads, 8, "0"),
        ("TCP", s => s.Tcp, 16, "0"),
    ];

    /// <summary>The markdown table and the growing (process, resource) pairs.</summary>
    public static (string Table, List<string> Growing) Judge(IEnumerable<SoakSample> samples)
    {
        var table = new StringBuilder("| process | " + string.Join(" | ", Resources.Select(r => r.Name + " first → last (slope)")) + " | verdict |\n");
        table.Append("|---|" + string.Concat(Resources.Select(_ => "---|")) + "---|\n");
        var growing = new List<string>();
        foreach (var process in samples.GroupBy(s => s.Process).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var cells = new List<string>();
            var grows = new List<string>();
            foreach (var (name, value, floor, format) in Resources)
            {
                var series = process.Where(s => value(s) is not null).OrderBy(s => s.Seconds).Select(s => (s.Seconds, value(s)!.Value)).ToList();
                if (series.Count == 0)
                {
                    cells.Add("n/a");
                    continue;
                }

                var trend = Trend.Of(series, floor);
                cells.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{series[0].Item2.ToString(format, CultureInfo.InvariantCulture)} → {series[^1].Item2.ToString(format, CultureInfo.InvariantCulture)} ({trend})"));
                if (trend.Grows)
                {
                    grows.Add(name);
                    growing.Add(string.Create(CultureInfo.InvariantCulture, $"{process.Key} {name}: +{trend.Growth:0.#} over the second half, allowed {trend.Allowance:0.#}"));
                }
            }

            table.Append($"| {process.Key} | {string.Join(" | ", cells)} | {(grows.Count == 0 ? "flat" : "GROWS: " + string.Join(", ", grows))} |\n");
        }

        return (table.ToString(), growing);
    }
}

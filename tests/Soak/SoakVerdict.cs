using System.Globalization;
using System.Text;

namespace DeepDeploy.Tests.Soak;

/// <summary>
/// The soak's table: per process and resource, first and last sample, the second half's slope per hour and
/// whether it grows (<see cref="Trend"/>) against these floors: RSS and GC heap <see cref="MemoryFloor"/> (the full
/// form) or <see cref="ShortMemoryFloor"/> (a short form), descriptors and TCP connections 16, threads 8 (each also
/// allowed 10 % of its level).
/// </summary>
public static class SoakVerdict
{
    public const double MemoryFloor = 32;

    /// <summary>In a form of a few minutes the second half is still warm-up for a process on a busy machine (a GPU
    /// node's RSS rose 57 MiB in CI's 3 minutes, 33 of them in the second half, with its GC heap falling; in the
    /// 30-minute run it rose as much early on, then stayed level): a short form catches only a leak faster than this
    /// per half, the full form is the soak.</summary>
    public const double ShortMemoryFloor = 64;

    /// <summary>The markdown table and the growing (process, resource) pairs; <paramref name="memoryFloor"/>: the
    /// growth always allowed to RSS and GC heap, in MiB.</summary>
    public static (string Table, List<string> Growing) Judge(IEnumerable<SoakSample> samples, double memoryFloor = MemoryFloor)
    {
        (string Name, Func<SoakSample, double?> Value, double Floor, string Format)[] resources =
        [
            ("RSS MiB", s => s.RssMiB, memoryFloor, "0"),
            ("GC heap MiB", s => s.GcHeapMiB, memoryFloor, "0.0"),
            ("fds", s => s.Fds, 16, "0"),
            ("threads", s => s.Threads, 8, "0"),
            ("TCP", s => s.Tcp, 16, "0"),
        ];

        var table = new StringBuilder("| process | " + string.Join(" | ", resources.Select(r => r.Name + " first → last (slope)")) + " | verdict |\n");
        table.Append("|---|" + string.Concat(resources.Select(_ => "---|")) + "---|\n");
        var growing = new List<string>();
        foreach (var process in samples.GroupBy(s => s.Process).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var cells = new List<string>();
            var grows = new List<string>();
            foreach (var (name, value, floor, format) in resources)
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

using DeepDeploy.Simulation.Metrics;
using ScottPlot;

namespace DeepDeploy.Simulation.Report;

/// <summary>PNG charts of a run (ScottPlot), written beside the summary.</summary>
public static class SimulationCharts
{
    const int Width = 900;
    const int Height = 420;

    public static IReadOnlyList<string> Write(SimulationResult r, string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var t = r.Samples.Select(s => s.At).ToArray();
        if (t.Length > 1)
        {
            written.Add(Save(Path.Combine(directory, "instances.png"), "Instances and load", "simulated s", "count", plot =>
            {
                Line(plot, t, r.Samples.Select(s => (double)s.ServingInstances), "serving instances");
                Line(plot, t, r.Samples.Select(s => (double)s.AllocatedGpus), "GPUs held");
                Line(plot, t, r.Samples.Select(s => (double)s.InFlight), "requests in flight");
                Line(plot, t, r.Samples.Select(s => (double)s.Waiting), "requests waiting");
            }));

            written.Add(Save(Path.Combine(directory, "autoscaler.png"), "Autoscaler decisions per sample interval", "simulated s", "instances", plot =>
            {
                var changes = t.Select((to, i) => SimulationReport.Changes(r, i == 0 ? double.MinValue : t[i - 1], to)).ToArray();
                Line(plot, t, changes.Select(c => (double)c.Launches), "launched (scale-up, replacement)");
                Line(plot, t, changes.Select(c => (double)-c.Stops), "stopped (scale-down), negative");
            }));

            written.Add(Save(Path.Combine(directory, "fragmentation.png"), "Placement fragmentation", "simulated s", "share of free GPUs", plot =>
                Line(plot, t, r.Samples.Select(s => s.StrandedShare), "free GPUs on partly used nodes")));
        }

        var served = r.Outcomes.Where(o => o.Failure is null).ToArray();
        if (served.Length > 0)
        {
            var bucket = Math.Max(1, r.Options.Minutes * 60 / 30);
            var buckets = served.GroupBy(o => Math.Floor(o.Arrival / bucket) * bucket).OrderBy(g => g.Key).ToArray();
            written.Add(Save(Path.Combine(directory, "latency.png"), "Latency by arrival time", "simulated s", "seconds", plot =>
            {
                var x = buckets.Select(b => b.Key).ToArray();
                Line(plot, x, buckets.Select(b => new Percentiles(b.Select(o => o.TimeToFirstToken)).At(50)), "TTFT p50");
                Line(plot, x, buckets.Select(b => new Percentiles(b.Select(o => o.TimeToFirstToken)).At(99)), "TTFT p99");
                Line(plot, x, buckets.Select(b => new Percentiles(b.Select(o => o.Latency)).At(50)), "latency p50");
                Line(plot, x, buckets.Select(b => new Percentiles(b.Select(o => o.Latency)).At(99)), "latency p99");
            }));
        }

        var busiest = r.Calls.OrderByDescending(c => c.Value.At(99)).Take(14).ToArray();
        if (busiest.Length > 0)
        {
            written.Add(Save(Path.Combine(directory, "control-plane.png"), "Grain call latency p99 (real ms), slowest methods", "ms", "", plot =>
            {
                var bars = plot.Add.Bars(busiest.Select(c => c.Value.At(99)).ToArray());
                bars.Horizontal = true;
                plot.Axes.Left.SetTicks(Enumerable.Range(0, busiest.Length).Select(i => (double)i).ToArray(), busiest.Select(c => c.Key).ToArray());
                plot.Axes.Margins(left: 0);
            }, height: 520));
        }

        return written;
    }

    static void Line(Plot plot, double[] x, IEnumerable<double> y, string label)
    {
        var line = plot.Add.Scatter(x, y.Select(v => double.IsNaN(v) ? 0 : v).ToArray());
        line.LegendText = label;
        line.MarkerSize = 0;
    }

    static string Save(string path, string title, string xLabel, string yLabel, Action<Plot> draw, int height = Height)
    {
        using var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        draw(plot);
        if (plot.GetPlottables().Any(p => p is ScottPlot.Plottables.Scatter))
        {
            plot.ShowLegend(Alignment.UpperRight);
        }

        plot.SavePng(path, Width, height);
        return path;
    }
}

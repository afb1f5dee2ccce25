using DeepDeploy.Tests.Autoscale;
using ScottPlot;

namespace DeepDeploy.Tests.Cluster;

/// <summary>The <see cref="AutoscalerBenchmark"/>'s PNG charts (ScottPlot) over the <see cref="BurstyTrace"/>: serving
/// instances per policy against the oracle's, and the queue's oldest wait per policy.</summary>
public static class AutoscalerCharts
{
    /// <summary>One step of a run: instances serving at its end, and how long the queue's oldest request had waited.</summary>
    public sealed record Step(int Serving, double QueueWaitMs);

    /// <returns>The files written into <paramref name="directory"/>.</returns>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyDictionary<string, List<Step>> runs)
    {
        Directory.CreateDirectory(directory);
        var seconds = Enumerable.Range(0, BurstyTrace.Steps.Count).Select(i => (i + 1) * BurstyTrace.Step.TotalSeconds).ToArray();
        var instances = Path.Combine(directory, "autoscaler-instances.png");
        using (var plot = Plot("Serving instances: each policy against the oracle (bursty trace)", "instances"))
        {
            Line(plot, seconds, BurstyTrace.Steps.Select(load => (double)BurstyTrace.Needed(load)), "oracle", 0, width: 3);
            foreach (var (i, (name, steps)) in runs.Index())
            {
                Line(plot, seconds, steps.Select(s => (double)s.Serving), name, i + 1);
            }

            plot.SavePng(instances, 1100, 450);
        }

        var wait = Path.Combine(directory, "autoscaler-queue-wait.png");
        using (var plot = Plot("Queue wait: the oldest waiting request at each step (0: nothing waits)", "ms"))
        {
            foreach (var (i, (name, steps)) in runs.Index())
            {
                Line(plot, seconds, steps.Select(s => s.QueueWaitMs), name, i + 1);
            }

            plot.SavePng(wait, 1100, 450);
        }

        return [instances, wait];
    }

    static Plot Plot(string title, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("trace time (s, 250 ms steps, compressed)");
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    /// <param name="color">The palette's colour: a policy has the same one in both charts.</param>
    static void Line(Plot plot, double[] x, IEnumerable<double> y, string label, int color, int width = 1)
    {
        var line = plot.Add.Scatter(x, y.ToArray(), plot.Add.Palette.GetColor(color));
        line.LegendText = label;
        line.MarkerSize = 0;
        line.LineWidth = width;
        line.ConnectStyle = ConnectStyle.StepVertical;
    }
}

using System.Globalization;
using System.Text;
using DeepDeploy.Simulation.Metrics;

namespace DeepDeploy.Simulation.Report;

/// <summary>The markdown summary of a run.</summary>
public static class SimulationReport
{
    public static string Markdown(SimulationResult r, IReadOnlyList<string> charts)
    {
        var o = r.Options;
        var served = r.Outcomes.Where(x => x.Failure is null).ToArray();
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));

        Line($"# Simulation: {o.Nodes} nodes × {o.GpusPerNode} GPUs, {o.Deployments} deployments, {o.Gateways} gateways");
        Line($"");
        Line($"{o.Silos} silos; {o.Minutes:0.##} simulated minutes at {o.Compression:0.##}× compression; {(o.Trace is null ? "synthetic workload" : "trace " + Path.GetFileName(o.Trace))}; seed {o.Seed}; took {r.RealDuration.TotalSeconds:F0} s of real time.");
        Line($"Simulated seconds unless marked ms (real milliseconds: the control plane's own cost).");
        Line($"");
        Line($"## Requests");
        Line($"");
        Line($"| requests | served | failed |");
        Line($"|---|---|---|");
        Line($"| {r.Requests} | {served.Length} | {r.Outcomes.Count - served.Length} |");
        Line($"");
        foreach (var reason in r.Outcomes.Where(x => x.Failure is not null).GroupBy(x => x.Failure).OrderByDescending(g => g.Count()))
        {
            Line($"- failed `{reason.Key}`: {reason.Count()}");
        }

        Line($"");
        Line($"| s | p50 | p95 | p99 | max |");
        Line($"|---|---|---|---|---|");
        Row(text, "time to first token", new Percentiles(served.Select(x => x.TimeToFirstToken)));
        Row(text, "latency", new Percentiles(served.Select(x => x.Latency)));
        Row(text, "queue wait at the gateway", new Percentiles(served.Select(x => x.QueueWait)));
        Line($"");
        Line($"## GPUs and cost");
        Line($"");
        var refused = r.Deployments.Count(d => d.DeployId is null);
        Line($"- deployments created: {r.Deployments.Count - refused}, refused: {refused}{(refused > 0 ? " (" + r.Deployments.First(d => d.Refused is not null).Refused + ")" : "")}");
        var (lower, upper) = r.BillableGpuSeconds(0);
        Line($"- GPU-hours held (launch → stop, start-up included): {r.HeldGpuSeconds / 3600:F2}; serving: {r.ServedGpuSeconds / 3600:F2}; billed by the ledgers: {r.BilledGpuSeconds / 3600:F2} (billed / serving {r.BilledGpuSeconds / Math.Max(1e-9, r.ServedGpuSeconds):F4}; billable given when the deployments heard of starts and stops: {lower / 3600:F2} .. {upper / 3600:F2}); cost {r.BilledUsd:F2} USD at the list price of each GPU type");
        Line($"- engines started: {r.Engines.Count}; the most requests one held at once vs its max_batch_size: {(r.Engines.Count == 0 ? "-" : r.Engines.Max(e => e.PeakInFlight) + " (over the limit: " + r.Engines.Count(e => e.PeakInFlight > e.MaxBatchSize) + ")")}; busy refusals (a gateway's slot share above what the engine had free): {r.Engines.Sum(e => e.Busy)}");
        Line($"- users' peak GPUs vs limit {o.UserGpuLimit}: max {(r.PeakUserGpus.Count == 0 ? 0 : r.PeakUserGpus.Values.Max())}, users over: {r.PeakUserGpus.Count(u => u.Value > o.UserGpuLimit)}");
        if (r.Samples.Count > 0)
        {
            Line($"- placement fragmentation (free GPUs on partly used nodes / free GPUs): mean {r.Samples.Average(s => s.StrandedShare):P1}, max {r.Samples.Max(s => s.StrandedShare):P1}; wholly free nodes: min {r.Samples.Min(s => s.FreeNodes)}");
        }

        Line($"");
        Line($"## Autoscaler over time");
        Line($"");
        Line($"| t (s) | serving instances | GPUs held | launches | stops | in flight | waiting |");
        Line($"|---|---|---|---|---|---|---|");
        var stride = Math.Max(1, r.Samples.Count / 12);
        for (var i = 0; i < r.Samples.Count; i += stride)
        {
            var s = r.Samples[i];
            var from = i == 0 ? double.MinValue : r.Samples[i - stride].At;
            var (launches, stops) = Changes(r, from, s.At);
            Line($"| {s.At:F0} | {s.ServingInstances} | {s.AllocatedGpus} | {launches} | {stops} | {s.InFlight} | {s.Waiting} |");
        }

        Line($"");
        Line($"## Control plane");
        Line($"");
        Line($"| ms | p50 | p99 | max | target p99 |");
        Line($"|---|---|---|---|---|");
        var place = r.Calls.GetValueOrDefault("INodeRegistryGrain.FindNodes") ?? new Percentiles([]);
        Line($"| placement (NodeRegistry.FindNodes, {place.Count} calls) | {place.At(50):F1} | {place.At(99):F1} | {place.Max:F1} | 20 |");
        Line($"| create → instances scheduled ({r.CreateToScheduledMilliseconds.Count} deployments) | {r.CreateToScheduledMilliseconds.At(50):F0} | {r.CreateToScheduledMilliseconds.At(99):F0} | {r.CreateToScheduledMilliseconds.Max:F0} | 100 |");
        Line($"| route change → all {o.Gateways} gateways ({r.RouteToAllGatewaysMilliseconds.Count} instances) | {r.RouteToAllGatewaysMilliseconds.At(50):F0} | {r.RouteToAllGatewaysMilliseconds.At(99):F0} | {r.RouteToAllGatewaysMilliseconds.Max:F0} | 1000 |");
        Line($"");
        Line($"Grain calls by method (incoming call filter on every silo; queueing on the activation included), busiest first:");
        Line($"");
        Line($"| method | calls | p50 ms | p99 ms | max ms |");
        Line($"|---|---|---|---|---|");
        foreach (var (method, p) in r.Calls.OrderByDescending(c => c.Value.Count * c.Value.Mean).Take(20))
        {
            Line($"| {method} | {p.Count} | {p.At(50):F2} | {p.At(99):F2} | {p.Max:F1} |");
        }

        if (charts.Count > 0)
        {
            Line($"");
            Line($"## Charts");
            Line($"");
            foreach (var chart in charts)
            {
                Line($"![{Path.GetFileNameWithoutExtension(chart)}]({Path.GetFileName(chart)})");
            }
        }

        return text.ToString();
    }

    /// <summary>Engines launched and stopped in (from, to], simulated seconds from the workload's start.</summary>
    public static (int Launches, int Stops) Changes(SimulationResult r, double from, double to) =>
        (r.Engines.Count(e => e.LaunchedAt - r.WorkloadStart > from && e.LaunchedAt - r.WorkloadStart <= to),
         r.Engines.Count(e => e.StoppedAt - r.WorkloadStart > from && e.StoppedAt - r.WorkloadStart <= to));

    static void Row(StringBuilder text, string name, Percentiles p) =>
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {p.At(50):F3} | {p.At(95):F3} | {p.At(99):F3} | {p.Max:F3} |"));
}

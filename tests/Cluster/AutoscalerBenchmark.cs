using System.Diagnostics;
using System.Globalization;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Tests.Autoscale;
using DeepDeploy.Tests.Worker;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// The autoscaler's policies on the <see cref="BurstyTrace"/>, over a TestingHost cluster of simulated GPU nodes
/// (instances "start" in 100 ms), side by side with the oracle. A step's requests beyond the serving instances'
/// batches wait in the queue for at least a step: they are the requests over the SLO (no queue wait). The gateway's
/// reports are sent every step as its immediate reports would be, with the queue's oldest wait. Prints, per policy,
/// GPU-seconds against the oracle's, the share of requests over the SLO and the reaction (load rose past what serves
/// → enough instances serving), each run and the mean with its spread; then the same policies through
/// <see cref="PolicyReplay"/> (the decision code alone) with the documented 100 ms start and with the start the
/// cluster showed from decision to serving, which tells what is the policy's and what the control plane's start-up path.
/// Time is compressed (250 ms steps): the policies' windows are scaled to it. Runs only with DEEPDEPLOY_BENCH=1;
/// DEEPDEPLOY_BENCH_AUTOSCALER_RUNS (default 3) runs; DEEPDEPLOY_BENCH_AUTOSCALER_STORAGE=memory keeps grain state in
/// memory instead of SQLite (the policy without one SQLite file's writes on the start-up path);
/// DEEPDEPLOY_BENCH_AUTOSCALER_POLICIES=text runs only the policies whose name contains it. Writes the report to
/// bench-results/autoscaler.txt and, from each policy's last run, the charts of <see cref="AutoscalerCharts"/> beside it.
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class AutoscalerBenchmark(ITestOutputHelper output)
{
    static readonly TimeSpan DocumentedStart = TimeSpan.FromMilliseconds(100);

    [BenchmarkFact]
    public async Task Bursty_trace_against_an_oracle()
    {
        var runs = int.TryParse(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_AUTOSCALER_RUNS"), out var n) && n > 0 ? n : 3;
        var inMemory = string.Equals(Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_AUTOSCALER_STORAGE"), "memory", StringComparison.OrdinalIgnoreCase);
        var oracle = BurstyTrace.OracleGpuSeconds;
        var requests = BurstyTrace.Requests;
        var only = Environment.GetEnvironmentVariable("DEEPDEPLOY_BENCH_AUTOSCALER_POLICIES");
        var policies = Policies().Where(p => string.IsNullOrEmpty(only) || p.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToList();
        var results = policies.ToDictionary(p => p.Name, _ => new List<Run>());
        for (var run = 0; run < runs; run++)
        {
            foreach (var (name, configure) in policies)
            {
                results[name].Add(await RunAsync(configure, inMemory));
            }
        }

        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"bursty trace: {BurstyTrace.Steps.Count} steps of {BurstyTrace.Step.TotalMilliseconds} ms, {requests} requests, max_batch {BurstyTrace.MaxBatch}; oracle {oracle:F1} GPU-seconds; {runs} run(s), grain state in {(inMemory ? "memory" : "SQLite")}"),
            "policy                 | GPU-s ratio to oracle: runs, mean (spread) | requests over SLO: runs, mean (spread) | reaction median / max | decision → placed / serving (medians) | decision → serving p50 / p99 (all runs)",
            "oracle                 | 1.00                                        | 0.0%                                   | -",
        };
        foreach (var (name, _) in policies)
        {
            var ratios = results[name].Select(r => r.GpuSeconds / oracle).ToList();
            var overs = results[name].Select(r => 100.0 * r.Over / requests).ToList();
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{name,-22} | {string.Join(' ', ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture))),-20} {ratios.Average():F2} ({ratios.Min():F2}-{ratios.Max():F2}) | " +
                $"{string.Join(' ', overs.Select(o => o.ToString("F1", CultureInfo.InvariantCulture) + "%")),-18} {overs.Average():F1}% ({overs.Min():F1}-{overs.Max():F1}) | " +
                $"{results[name].Select(r => r.ReactionMedian).Average():F0} / {results[name].Max(r => r.ReactionMax):F0} ms | " +
                $"{results[name].Select(r => r.PlacedMedian).Average():F0} / {results[name].Select(r => r.ServingMedian).Average():F0} ms | " +
                $"{Percentile(results[name].SelectMany(r => r.Serving).ToList(), 50):F0} / {Percentile(results[name].SelectMany(r => r.Serving).ToList(), 99):F0} ms"));
        }

        // The decision code alone, with instances that serve after the documented start and after what the cluster
        // showed from decision to serving.
        var measured = TimeSpan.FromMilliseconds(Median(results.Values.SelectMany(r => r).Select(r => r.ServingMedian).ToList()));
        foreach (var start in new[] { DocumentedStart, measured })
        {
            foreach (var (name, configure) in policies)
            {
                var options = Options(configure);
                var (gpuSeconds, over) = new PolicyReplay(options, start).Run();
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"replay, start {start.TotalMilliseconds,4:F0} ms: {name,-22} | {gpuSeconds / oracle:F2} | {100.0 * over / requests:F1}%"));
            }
        }

        var dir = Path.Combine(WorkerBenchmark.FindRepoRoot(), "bench-results");
        lines.AddRange(AutoscalerCharts.Write(dir, results.ToDictionary(r => r.Key, r => r.Value[^1].Series)).Select(chart => $"chart: {Path.GetRelativePath(WorkerBenchmark.FindRepoRoot(), chart)}"));
        var report = string.Join('\n', lines);
        output.WriteLine(report);
        Console.WriteLine(report);
        await File.WriteAllTextAsync(Path.Combine(dir, "autoscaler.txt"), report + "\n");
        Assert.True(oracle > 0);
    }

    /// <summary>Utilization (the default), the SLO policy as it was (no surge), and with its defaults (surge 0.5).</summary>
    static IEnumerable<(string Name, Action<AutoscalerOptions> Configure)> Policies()
    {
        yield return ("Utilization 0.8, cd 1 s", o =>
        {
            o.Policy = ScalingPolicies.Utilization;
            o.TargetUtilization = 0.8;
            o.ScaleDownCooldown = TimeSpan.FromSeconds(1);
        });
        yield return ("Slo (before: no surge)", o =>
        {
            o.Policy = ScalingPolicies.Slo;
            o.Slo = Compressed(new SloPolicyOptions { QueueSurge = 0 });
        });
        yield return ("Slo (surge 0.5)", o =>
        {
            o.Policy = ScalingPolicies.Slo;
            o.Slo = Compressed(new SloPolicyOptions());
        });
    }

    /// <summary>Windows scaled to the compressed time: panic 0.5 s, stable 5 s, lead 0.5 s.</summary>
    static SloPolicyOptions Compressed(SloPolicyOptions slo)
    {
        slo.PanicWindow = TimeSpan.FromSeconds(0.5);
        slo.StableWindow = TimeSpan.FromSeconds(5);
        slo.ScaleDownLead = TimeSpan.FromSeconds(0.5);
        return slo;
    }

    static AutoscalerOptions Options(Action<AutoscalerOptions> configure)
    {
        var options = new AutoscalerOptions();
        Apply(options, configure);
        return options;
    }

    static void Apply(AutoscalerOptions options, Action<AutoscalerOptions> configure)
    {
        configure(options);
        options.IdleBeforeScaleToZero = TimeSpan.FromSeconds(2);
        options.DrainDelay = TimeSpan.FromMilliseconds(100);
    }

    static async Task<Run> RunAsync(Action<AutoscalerOptions> configure, bool inMemory)
    {
        await using var sim = await SimulatedCluster.StartAsync(new SimulatedClusterOptions
        {
            Silos = 2,
            Nodes = 2,
            InMemoryStorage = inMemory,
            Autoscaler = o => Apply(o, configure),
        });
        await sim.CreateUserAsync("bench", gpuLimit: 100);
        var id = await sim.DeployAsync("bench", "bursty", numGpus: 1, min: 0, max: BurstyTrace.MaxInstances, maxBatchSize: BurstyTrace.MaxBatch);
        var deployment = sim.Grains.GetGrain<IDeploymentGrain>(id);
        await sim.WaitForAsync(id, v => v.Status == DeploymentStatus.Running, TimeSpan.FromSeconds(10));

        double gpuSeconds = 0;
        var over = 0;
        var reactions = new List<double>();
        Stopwatch? waitingSince = null;
        Stopwatch? queuedSince = null;
        var running = 0;
        var series = new List<AutoscalerCharts.Step>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < BurstyTrace.Steps.Count; i++)
        {
            var load = BurstyTrace.Steps[i];
            if (waitingSince is null && BurstyTrace.Needed(load) > running)
            {
                waitingSince = Stopwatch.StartNew(); // the load rose past what runs: the clock starts at the report
            }

            var inFlight = Math.Min(load, running * BurstyTrace.MaxBatch);
            queuedSince = load > inFlight ? queuedSince ?? Stopwatch.StartNew() : null;
            var queueWait = queuedSince?.Elapsed ?? TimeSpan.Zero;
            await deployment.ReportLoad(new GatewayLoad("bench-gw", inFlight, load - inFlight, 0,
                load > inFlight ? LoadTrigger.GatewayQueue : LoadTrigger.PeriodicReport, queueWait));
            var remaining = BurstyTrace.Step * (i + 1) - clock.Elapsed;
            if (remaining > TimeSpan.Zero)
            {
                // The load trace is replayed in real time, on purpose: the autoscaler's reaction time is the figure.
                await Task.Delay(remaining);
            }

            running = (await deployment.Get())!.RunningInstances;
            gpuSeconds += running * BurstyTrace.Step.TotalSeconds;
            over += Math.Max(0, load - running * BurstyTrace.MaxBatch);
            series.Add(new AutoscalerCharts.Step(running, queueWait.TotalMilliseconds));
            if (waitingSince is not null && running >= BurstyTrace.Needed(load))
            {
                reactions.Add(waitingSince.Elapsed.TotalMilliseconds);
                waitingSince = null;
            }
        }

        var (placed, serving) = await StartUpAsync(sim, id);
        return new Run(gpuSeconds, over, Median(reactions), reactions.DefaultIfEmpty(0).Max(), Median(placed), Median(serving), serving, series);
    }

    /// <summary>From the deployment's events: for each instance a scale-up decision asked for, the time from the
    /// decision to its placement and to its first <c>running</c> (the control plane's start-up path).</summary>
    static async Task<(List<double> Placed, List<double> Serving)> StartUpAsync(SimulatedCluster sim, string deployId)
    {
        var events = (await sim.Grains.GetGrain<IEventLogGrain>(deployId).Read(null, EventStreams.HistoryLimit)).Events;
        var decidedAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var (placed, serving) = (new List<double>(), new List<double>());
        DateTimeOffset? decided = null;
        foreach (var e in events)
        {
            if (e.Kind == DeploymentEventKind.ScalingDecision)
            {
                decided = e.Target > e.Instances ? e.Time : null;
            }
            else if (e.Kind == DeploymentEventKind.Placed && decided is { } at && e.InstanceId is { } instance)
            {
                decidedAt[instance] = at;
                placed.Add((e.Time - at).TotalMilliseconds);
            }
            else if (e is { Kind: DeploymentEventKind.InstancePhase, Phase: InstancePhase.Running, InstanceId: { } running }
                && decidedAt.Remove(running, out var asked))
            {
                serving.Add((e.Time - asked).TotalMilliseconds);
            }
        }

        return (placed, serving);
    }

    static double Median(List<double> values) => values.Count == 0 ? 0 : values.Order().ElementAt(values.Count / 2);

    /// <summary>Nearest rank.</summary>
    static double Percentile(List<double> values, int p) =>
        values.Count == 0 ? 0 : values.Order().ElementAt(Math.Clamp((int)Math.Ceiling(p / 100.0 * values.Count) - 1, 0, values.Count - 1));

    sealed record Run(double GpuSeconds, int Over, double ReactionMedian, double ReactionMax, double PlacedMedian, double ServingMedian,
        List<double> Serving, List<AutoscalerCharts.Step> Series);
}

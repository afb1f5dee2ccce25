using System.Diagnostics;
using System.Globalization;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Tests.Worker;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// The autoscaler's policies on one bursty synthetic trace, over a TestingHost cluster of simulated GPU nodes
/// (instances "start" in 100 ms), side by side with an oracle that knows the future and runs, at every step, exactly
/// the instances the load needs with a full batch each (<c>ceil(load / max_batch_size)</c>, nobody waits).
/// A step's load is its requests (each lasts the step); those beyond the running instances' batches wait in the queue
/// for at least a step: they are the requests over the SLO (no queue wait). The gateway's reports are sent every step
/// as its immediate reports would be. Prints GPU-seconds (running instances × time) against the oracle's, the share
/// of requests over the SLO and the reaction (load rose past what runs → enough instances serving). Time is
/// compressed (250 ms steps, 100 ms starts): the policies' windows are scaled to it. Runs only with DEEPDEPLOY_BENCH=1.
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class AutoscalerBenchmark(ITestOutputHelper output)
{
    const int MaxBatch = 4;
    const int MaxInstances = 8;
    static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    [BenchmarkFact]
    public async Task Bursty_trace_against_an_oracle()
    {
        var trace = Trace();
        var oracle = trace.Sum(Needed) * Step.TotalSeconds;
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"bursty trace: {trace.Count} steps of {Step.TotalMilliseconds} ms, {trace.Sum()} requests, max_batch {MaxBatch}; oracle {oracle:F1} GPU-seconds"),
            "policy                                    | GPU-s | ratio to oracle | requests over SLO | reaction median / max",
            string.Create(CultureInfo.InvariantCulture, $"oracle                                    | {oracle,5:F1} | 1.00            | 0.0%              | -"),
        };
        foreach (var (name, configure) in Policies())
        {
            var run = await RunAsync(trace, configure);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{name,-41} | {run.GpuSeconds,5:F1} | {run.GpuSeconds / oracle,4:F2}            | {100.0 * run.Over / trace.Sum(),4:F1}%             | {run.ReactionMedian:F0} / {run.ReactionMax:F0} ms"));
        }

        var report = string.Join('\n', lines);
        output.WriteLine(report);
        Console.WriteLine(report);
        Assert.True(oracle > 0);
    }

    static IEnumerable<(string Name, Action<AutoscalerOptions> Configure)> Policies()
    {
        foreach (var cooldown in new[] { 3.0, 1.0 })
        {
            yield return ($"Utilization 0.8, cooldown {cooldown.ToString(CultureInfo.InvariantCulture)} s", o =>
            {
                o.Policy = ScalingPolicies.Utilization;
                o.TargetUtilization = 0.8;
                o.ScaleDownCooldown = TimeSpan.FromSeconds(cooldown);
            });
        }

        // A full batch per instance, and with 20 % headroom: the trade between GPU time and requests over the SLO.
        foreach (var concurrency in new[] { 1.0, 0.8 })
        {
            yield return ($"Slo {concurrency.ToString(CultureInfo.InvariantCulture)} (panic 0.5 s, stable 5 s, lead 0.5 s)", o =>
            {
                o.Policy = ScalingPolicies.Slo;
                o.Slo = new SloPolicyOptions
                {
                    TargetConcurrency = concurrency,
                    PanicWindow = TimeSpan.FromSeconds(0.5),
                    StableWindow = TimeSpan.FromSeconds(5),
                    ScaleDownLead = TimeSpan.FromSeconds(0.5),
                };
            });
        }
    }

    /// <summary>60 s: a low base load with bursts of 4-8 s to 10-28 requests, quiet gaps between them.</summary>
    static List<int> Trace()
    {
        var random = new Random(5);
        var trace = new List<int>();
        while (trace.Count < 240)
        {
            trace.AddRange(Enumerable.Repeat(random.Next(0, 3), random.Next(16, 40)));
            trace.AddRange(Enumerable.Repeat(random.Next(10, 29), random.Next(16, 32)));
        }

        return trace.Take(240).ToList();
    }

    static int Needed(int load) => Math.Min(MaxInstances, (load + MaxBatch - 1) / MaxBatch);

    static async Task<(double GpuSeconds, int Over, double ReactionMedian, double ReactionMax)> RunAsync(List<int> trace, Action<AutoscalerOptions> configure)
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 2, autoscaler: o =>
        {
            configure(o);
            o.IdleBeforeScaleToZero = TimeSpan.FromSeconds(2);
            o.DrainDelay = TimeSpan.FromMilliseconds(100);
        });
        await sim.CreateUserAsync("bench", gpuLimit: 100);
        var id = await sim.DeployAsync("bench", "bursty", numGpus: 1, min: 0, max: MaxInstances, maxBatchSize: MaxBatch);
        var deployment = sim.Grains.GetGrain<IDeploymentGrain>(id);
        await sim.WaitForAsync(id, v => v.Status == DeploymentStatus.Running, TimeSpan.FromSeconds(10));

        double gpuSeconds = 0;
        var over = 0;
        var reactions = new List<double>();
        Stopwatch? waitingSince = null;
        var running = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < trace.Count; i++)
        {
            var load = trace[i];
            if (waitingSince is null && Needed(load) > running)
            {
                waitingSince = Stopwatch.StartNew(); // the load rose past what runs: the clock starts at the report
            }

            var inFlight = Math.Min(load, running * MaxBatch);
            await deployment.ReportLoad(new GatewayLoad("bench-gw", inFlight, load - inFlight, 0,
                load > inFlight ? LoadTrigger.GatewayQueue : LoadTrigger.PeriodicReport));
            var remaining = Step * (i + 1) - clock.Elapsed;
            if (remaining > TimeSpan.Zero)
            {
                // The load trace is replayed in real time, on purpose: the autoscaler's reaction time is the figure.
                await Task.Delay(remaining);
            }

            running = (await deployment.Get())!.RunningInstances;
            gpuSeconds += running * Step.TotalSeconds;
            over += Math.Max(0, load - running * MaxBatch);
            if (waitingSince is not null && running >= Needed(load))
            {
                reactions.Add(waitingSince.Elapsed.TotalMilliseconds);
                waitingSince = null;
            }
        }

        reactions.Sort();
        return (gpuSeconds, over, reactions.Count > 0 ? reactions[reactions.Count / 2] : 0, reactions.Count > 0 ? reactions[^1] : 0);
    }
}

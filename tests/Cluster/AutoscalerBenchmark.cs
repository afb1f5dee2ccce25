using System.Diagnostics;
using System.Globalization;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Tests.Worker;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// The autoscaler on a bursty synthetic trace, over a TestingHost cluster of simulated GPU nodes (instances
/// "start" in 100 ms). Prints the reaction time (load report → enough instances placed and serving) and the
/// GPU-seconds used against an oracle that knows the future and runs exactly the instances the load needs at
/// every moment; the under-provisioned share of time stands for the latency SLO. Runs only with DEEPDEPLOY_BENCH=1.
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class AutoscalerBenchmark(ITestOutputHelper output)
{
    const int MaxBatch = 4;
    const double Utilization = 0.8;
    static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    [BenchmarkFact]
    public async Task Bursty_trace_against_an_oracle()
    {
        // The same trace with two cooldowns: the trade between GPU time and latency.
        foreach (var seconds in new[] { 3.0, 1.0 })
        {
            await RunAsync(TimeSpan.FromSeconds(seconds));
        }
    }

    async Task RunAsync(TimeSpan cooldown)
    {
        await using var sim = await SimulatedCluster.StartAsync(nodes: 2, autoscaler: o =>
        {
            o.TargetUtilization = Utilization;
            o.ScaleDownCooldown = cooldown;
            o.IdleBeforeScaleToZero = TimeSpan.FromSeconds(2);
            o.DrainDelay = TimeSpan.FromMilliseconds(100);
        });
        await sim.CreateUserAsync("bench", gpuLimit: 100);
        var id = await sim.DeployAsync("bench", "bursty", numGpus: 1, min: 0, max: 8, maxBatchSize: MaxBatch);
        var deployment = sim.Grains.GetGrain<IDeploymentGrain>(id);
        await sim.WaitForAsync(id, v => v.Status == DeploymentStatus.Running, TimeSpan.FromSeconds(10));

        // 60 s: a low base load with bursts of 4-8 s to 10-28 requests, quiet gaps between them.
        var random = new Random(5);
        var trace = new List<int>();
        while (trace.Count < 240)
        {
            trace.AddRange(Enumerable.Repeat(random.Next(0, 3), random.Next(16, 40)));
            trace.AddRange(Enumerable.Repeat(random.Next(10, 29), random.Next(16, 32)));
        }

        trace = trace.Take(240).ToList();
        double usedGpuSeconds = 0, oracleGpuSeconds = 0;
        int underSteps = 0, loadedSteps = 0;
        var reactions = new List<double>();
        Stopwatch? waitingSince = null;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < trace.Count; i++)
        {
            var load = trace[i];
            var needed = Math.Min(8, load == 0 ? 0 : (int)Math.Ceiling(load / (MaxBatch * Utilization)));
            if (waitingSince is null && needed > (await deployment.Get())!.RunningInstances)
            {
                waitingSince = Stopwatch.StartNew(); // the load rose past what runs: the clock starts at the report
            }

            await deployment.ReportLoad(new GatewayLoad("bench-gw", Math.Min(load, MaxBatch * 8), Math.Max(0, load - MaxBatch * 8), 0));
            var next = Step * (i + 1);
            var remaining = next - clock.Elapsed;
            if (remaining > TimeSpan.Zero)
            {
                // The load trace is replayed in real time, on purpose: the autoscaler's reaction time is the figure.
                await Task.Delay(remaining);
            }

            var running = (await deployment.Get())!.RunningInstances;
            usedGpuSeconds += running * Step.TotalSeconds;
            oracleGpuSeconds += needed * Step.TotalSeconds;
            if (load > 0)
            {
                loadedSteps++;
            }

            if (running < needed)
            {
                underSteps++;
            }
            else if (waitingSince is not null)
            {
                reactions.Add(waitingSince.Elapsed.TotalMilliseconds);
                waitingSince = null;
            }
        }

        reactions.Sort();
        var report = string.Create(CultureInfo.InvariantCulture,
            $"bursty trace: {trace.Count} steps of {Step.TotalMilliseconds} ms, cooldown {cooldown.TotalSeconds} s, max_batch {MaxBatch}, target utilization {Utilization}\n" +
            $"GPU-seconds: autoscaler {usedGpuSeconds:F1}, oracle {oracleGpuSeconds:F1}, ratio {usedGpuSeconds / oracleGpuSeconds:F2}\n" +
            $"under-provisioned: {underSteps} of {loadedSteps} loaded steps ({100.0 * underSteps / loadedSteps:F1}%)\n" +
            $"reaction (load report → enough instances serving, measured at the end of each {Step.TotalMilliseconds} ms step): " +
            $"median {(reactions.Count > 0 ? reactions[reactions.Count / 2] : 0):F0} ms, max {(reactions.Count > 0 ? reactions[^1] : 0):F0} ms over {reactions.Count} scale-ups");
        output.WriteLine(report);
        Console.WriteLine(report);
        Assert.True(oracleGpuSeconds > 0);
    }
}

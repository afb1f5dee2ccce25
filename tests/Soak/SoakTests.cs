using System.Globalization;
using DeepDeploy.Tests.Chaos;
using DeepDeploy.Tests.EndToEnd;
using DeepDeploy.Tests.Production;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Soak;

/// <summary>
/// Steady traffic for a while, every process of the cluster (silos, GPU nodes, gateway, workers) sampled at a
/// fixed interval from /proc and /metrics; fails on a growth trend (<see cref="Trend"/>, <see cref="SoakVerdict"/>)
/// or a lost request. CI: 3 minutes; <c>DEEPDEPLOY_SOAK_MINUTES=30</c> for the full form; both sampled every 10 s
/// (shorter forms every 5 s, so that the second half still holds enough samples for a trend).
/// </summary>
[Collection(SystemCollection.Name)]
[Trait("Category", "Soak")]
public sealed class SoakTests(ITestOutputHelper log)
{
    [PostgresFact]
    public async Task Memory_handles_threads_and_connections_do_not_grow_under_steady_traffic()
    {
        var duration = TimeSpan.FromMinutes(SoakEnvironment.Number("DEEPDEPLOY_SOAK_MINUTES", 3));
        var interval = TimeSpan.FromSeconds(SoakEnvironment.Number("DEEPDEPLOY_SOAK_INTERVAL_SECONDS", duration >= TimeSpan.FromMinutes(3) ? 10 : 5));
        await using var chaos = await ChaosCluster.StartAsync(log, "--engine fake --fake-token-rate 100", gpusPerNode: 1, controlSilos: 1);
        try
        {
            var token = await chaos.UserAsync("sam", gpus: 2, concurrent: 64);
            await chaos.DeployAsync(token, "soaked", instances: 2, maxBatchSize: 4);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var sampler = new ProcessSampler(http);
            var samples = new List<SoakSample>();
            await using var traffic = new TrafficLoop(chaos.Gateway, token, "sam/soaked", streams: 4, plain: 4, maxTokens: 16, TimeSpan.FromSeconds(60));
            var start = DateTime.UtcNow;
            // Sampling at a fixed rate is the subject here, not a wait for a condition.
            using var timer = new PeriodicTimer(interval);
            do
            {
                var seconds = (DateTime.UtcNow - start).TotalSeconds;
                foreach (var process in chaos.Cluster.Processes.Where(p => p.Pid is not null))
                {
                    var bearer = process.Role == "gateway" ? ProductionCluster.AdminToken : null;
                    if (await sampler.SampleAsync(process.Name, process.Pid!.Value, seconds, (new Uri(process.BaseAddress, "/metrics"), bearer)) is { } sample)
                    {
                        samples.Add(sample);
                    }
                }

                foreach (var worker in chaos.Workers())
                {
                    if (await sampler.SampleAsync($"worker {worker.Pid} ({worker.Node})", worker.Pid, seconds,
                            (new Uri($"http://127.0.0.1:{worker.Port}/metrics"), null)) is { } sample)
                    {
                        samples.Add(sample);
                    }
                }
            }
            while (DateTime.UtcNow - start < duration && await timer.WaitForNextTickAsync());

            await traffic.StopAsync();
            var attempts = traffic.Attempts.ToList();
            var full = duration >= TimeSpan.FromMinutes(30);
            var memoryFloor = full ? SoakVerdict.MemoryFloor : SoakVerdict.ShortMemoryFloor;
            var (table, growing) = SoakVerdict.Judge(samples, memoryFloor);
            var summary = string.Create(CultureInfo.InvariantCulture,
                $"{duration.TotalMinutes:0.#} min of steady traffic (8 concurrent clients, half streaming), samples every {interval.TotalSeconds:0} s: ")
                + $"{attempts.Count(a => a.Outcome == AttemptOutcome.Ok)} answers, {attempts.Count(a => a.Outcome != AttemptOutcome.Ok)} failed attempts, "
                + $"{attempts.Count(a => a.IsLoss)} lost. Slopes are least-squares over the second half; a resource grows when that half gains more "
                + $"than max(floor, 10 % of its level) and its lows rise by half that: floors RSS and GC heap {memoryFloor:0} MiB"
                + (full ? "" : " (a short form's second half is still warm-up)") + ", fds and TCP 16, threads 8.";
            log.WriteLine(table);
            log.WriteLine(summary);
            ReliabilityReport.Write("soak", full ? "full form (30 min)" : $"short form ({duration.TotalMinutes:0.#} min)",
                table + "\n" + summary);

            Assert.True(growing.Count == 0, "growth trend: " + string.Join("; ", growing));
            Assert.DoesNotContain(attempts, a => a.IsLoss || a.Status == 500);
            Assert.Empty(traffic.GaveUp);
        }
        catch
        {
            chaos.Cluster.DumpLogs();
            throw;
        }
    }
}

using DeepDeploy.Simulation;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Simulation;

/// <summary>
/// A small simulation (2 silos, 20 simulated nodes × 8 GPUs, 50 deployments of 5 users, 2 gateways, 2 simulated
/// minutes at 30× compression) checked for conservation: every request served or failed with a reason, GPU time
/// billed equal to GPU time served (to the few grain calls between an engine's start or stop and the deployment
/// hearing of it, measured in the run: <see cref="SimulationResult.BillableGpuSeconds"/>), no engine above
/// max_batch_size, no user above its GPU limit.
/// </summary>
public sealed class ConservationTests(ITestOutputHelper output)
{
    // Failure reasons a client can see (the gateway's error codes and admission outcomes).
    static readonly string[] Reasons =
        ["model_not_found", "rate_limited", "queue_full", "queue_timeout", "cold_start_timeout", "unavailable", "engine_busy", "engine_unreachable", "answer_cut"];

    // A meter may close when the deployment decides to stop an instance, one grain call (GpuNode.StopInstance)
    // before the engine stops: that call's allowance, real seconds, for a loaded 2-core machine.
    const double StopCallSeconds = 0.25;

    [Fact]
    public async Task Every_request_is_accounted_for_billing_matches_serving_and_no_limit_is_crossed()
    {
        var options = new SimulationOptions
        {
            Silos = 2, Nodes = 20, GpusPerNode = 8, Deployments = 50, Users = 5, UserGpuLimit = 24, Gateways = 2,
            Minutes = 2, Compression = 30, Rate = 15,
        };
        var result = await SimulationRun.RunAsync(options, output.WriteLine);
        var c = options.Compression;
        var failed = result.Outcomes.Where(o => o.Failure is not null).ToArray();
        var billedReal = result.BilledGpuSeconds / c;
        var servedReal = result.ServedGpuSeconds / c;
        var (lower, upper) = result.BillableGpuSeconds(StopCallSeconds * c);
        output.WriteLine($"{result.Requests} requests: {result.Outcomes.Count - failed.Length} served, {failed.Length} failed " +
            $"({string.Join(", ", failed.GroupBy(f => f.Failure).Select(g => $"{g.Key} {g.Count()}"))}); engines {result.Engines.Count}; " +
            $"GPU-seconds (real) billed {billedReal:F1}, served {servedReal:F1}, billable {lower / c:F1} .. {upper / c:F1}; " +
            $"peak user GPUs {result.PeakUserGpus.Values.DefaultIfEmpty().Max()} of {options.UserGpuLimit}; took {result.RealDuration.TotalSeconds:F0} s");

        Assert.Equal(result.Requests, result.Outcomes.Count);
        Assert.True(result.Requests > 500, $"only {result.Requests} requests");
        Assert.All(failed, f => Assert.Contains(f.Failure, Reasons));
        Assert.True(result.Outcomes.Count - failed.Length > result.Requests / 2, "fewer than half the requests served");
        Assert.All(result.Engines, e => Assert.True(e.StoppedAt is not null && e.PeakInFlight <= e.MaxBatchSize,
            $"instance {e.InstanceId}: {e.PeakInFlight} in flight with max_batch_size {e.MaxBatchSize}"));
        Assert.True(result.Engines.Count(e => e.ServingSince is not null) > 10, "too few instances served");
        Assert.InRange(result.BilledGpuSeconds, lower, upper);
        Assert.All(result.PeakUserGpus, u => Assert.True(u.Value <= options.UserGpuLimit, $"{u.Key} held {u.Value} GPUs, limit {options.UserGpuLimit}"));
        Assert.Contains(result.PeakUserGpus, u => u.Value == options.UserGpuLimit); // the limit was reached, so it was tested
    }
}

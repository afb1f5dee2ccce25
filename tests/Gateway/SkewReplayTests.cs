using System.Globalization;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Routing;
using DeepDeploy.Gateway.Inference;
using DeepDeploy.Gateway.Inference.Routing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Gateway;

/// <summary>
/// The gateway benchmark's skewed workload (<see cref="GatewayBenchmark"/>: the same seed, Poisson arrivals at 80 % of
/// capacity, 80 % 4-token and 20 % 100-token generations at 100 tokens/s, 2 instances × max_batch_size 4) replayed in
/// virtual time through real <see cref="DeploymentLane"/>s, without I/O or noise: the gateway's one queue over both
/// instances against round-robin to two per-instance queues (what nginx in front of queueing workers does). Each
/// sequence takes a fixed time whatever its batch, as in the fake engine, so only the queue can change the p99.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SkewReplayTests(ITestOutputHelper output)
{
    const int Slots = 4;
    const double ShortSeconds = 0.04, LongSeconds = 1.0, LongShare = 0.2;

    [Fact]
    public async Task One_queue_over_both_instances_cuts_the_p99_of_round_robin_but_not_below_what_the_long_requests_alone_need()
    {
        var arrivals = Arrivals();
        var roundRobin = await ReplayAsync(arrivals, lanes: 2, n => n % 2);
        var gateway = await ReplayAsync(arrivals, lanes: 1, _ => 0);
        var longsOnly = await ReplayAsync(arrivals.Where(a => a.Seconds == LongSeconds).ToArray(), lanes: 1, _ => 0);

        var rr = P99(roundRobin);
        var ratio = P99(gateway) / rr;
        // Even if the short requests took no slot at all, the long ones (20 % of requests, so the p99 is their p95)
        // wait this long for one of 8 slots: no order of one queue goes below it.
        var bound = Percentile(longsOnly, 0.95) / rr;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{arrivals.Length} requests; p99 round-robin {rr:F3} s, gateway {P99(gateway):F3} s: ratio {ratio:F3}; long requests alone on 8 slots: p95 {bound * rr:F3} s, ratio {bound:F3}"));

        Assert.True(ratio < 0.75, $"one queue over both instances: p99 {ratio:F3}x round-robin");
        Assert.True(bound > 0.5, $"the long requests alone: {bound:F3}x round-robin");
        Assert.True(ratio >= bound, "no queue beats the long requests alone");
    }

    /// <summary>The benchmark's schedule: its seed and formulas (arrival time in seconds, service seconds).</summary>
    static (double At, double Seconds)[] Arrivals()
    {
        var random = new Random(42);
        var perSecond = 0.8 * 2 * Slots / ((1 - LongShare) * ShortSeconds + LongShare * LongSeconds);
        var list = new List<(double, double)>();
        for (var next = 0.0; next < 45; next += -Math.Log(1 - random.NextDouble()) / perSecond)
        {
            list.Add((next, random.NextDouble() < LongShare ? LongSeconds : ShortSeconds));
        }

        return list.ToArray();
    }

    /// <summary>Latencies (seconds) of <paramref name="arrivals"/> sent to lanes of one instance × <see cref="Slots"/>
    /// each (or one lane of all instances), request n to lane <paramref name="laneOf"/>(n).</summary>
    static async Task<double[]> ReplayAsync((double At, double Seconds)[] arrivals, int lanes, Func<int, int> laneOf)
    {
        var clock = new FakeTimeProvider();
        var start = clock.GetUtcNow();
        var instances = lanes == 1 ? 2 : 1;
        var route = new DeploymentRoute("d1", "alice/m", DeploymentStatus.Running, Slots, 0,
            Enumerable.Range(0, instances).Select(i => new RouteInstance($"d1-{i}", $"http://127.0.0.1:{9000 + i}")).ToArray(), 1);
        var all = Enumerable.Range(0, lanes).Select(_ =>
        {
            var lane = new DeploymentLane(route, new InferenceOptions { QueueTimeout = TimeSpan.FromHours(1) }, clock, _ => { });
            lane.Update(route, 0, 1);
            return lane;
        }).ToArray();

        var latencies = new double[arrivals.Length];
        var waiting = all.Select(_ => new Queue<(int Request, Task<Admission> Admission)>()).ToArray();
        var ends = new PriorityQueue<(int Request, int Lane, SlotLease Lease), double>();

        void Start(int request, int lane, SlotLease lease, double now)
        {
            var end = now + arrivals[request].Seconds;
            latencies[request] = end - arrivals[request].At;
            ends.Enqueue((request, lane, lease), end);
        }

        var next = 0;
        while (next < arrivals.Length || ends.Count > 0)
        {
            // A slot that ends frees before an arrival at the same time is admitted.
            var arrive = !ends.TryPeek(out _, out var now) || next < arrivals.Length && arrivals[next].At < now;
            now = arrive ? arrivals[next].At : now;
            clock.SetUtcNow(start + TimeSpan.FromSeconds(now));
            if (arrive)
            {
                var lane = laneOf(next);
                var tokens = arrivals[next].Seconds == LongSeconds ? 100 : 4;
                var admission = all[lane].AcquireAsync(RoutingPolicies.LeastLoaded, default, retry: false, default, tokens);
                if (admission.IsCompleted)
                {
                    Start(next, lane, admission.Result.Lease!, now);
                }
                else
                {
                    waiting[lane].Enqueue((next, admission.AsTask()));
                }

                next++;
                continue;
            }

            var (_, done, lease) = ends.Dequeue();
            var before = all[done].Waiting;
            lease.Release();
            // The queue is FIFO: the waiters granted by this release are the oldest ones.
            for (var granted = before - all[done].Waiting; granted > 0; granted--)
            {
                var (request, pending) = waiting[done].Dequeue();
                Start(request, done, (await pending).Lease!, now);
            }
        }

        return latencies;
    }

    static double P99(double[] latencies) => Percentile(latencies, 0.99);

    static double Percentile(double[] values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}

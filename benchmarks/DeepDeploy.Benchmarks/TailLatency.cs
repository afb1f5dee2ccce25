using System.Diagnostics;
using System.Globalization;
using DeepDeploy.Gateway.Inference.Routing;

namespace DeepDeploy.Benchmarks;

/// <summary>
/// Percentiles of single routing decisions (BenchmarkDotNet reports means of many): each admission of a loaded
/// 64-instance lane timed alone with Stopwatch timestamps, after a warm-up, per policy, in several rounds; each round
/// prints the prefix policy's p99 against least-loaded's of the same round.
/// </summary>
public static class TailLatency
{
    /// <summary>Warm-up per policy and round, at least: tiered JIT promotes a method only 100 ms after the last tier-0
    /// compile, and a count-based warm-up (10 % of the decisions) lasts some 40 ms on the prefix path.</summary>
    static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1);

    public static void Run(int decisions, int rounds)
    {
        Console.WriteLine($"Routing decision, {RoutingDecisionBenchmark.Instances} instances, {decisions} admissions per policy and round (acquire + release with a ~6 KB chat body, timed one by one, after a warm-up of at least {WarmUp.TotalSeconds:F0} s), {rounds} rounds, {Environment.ProcessorCount} cores");
        for (var round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"round {round}");
            var p99 = new Dictionary<string, double>();
            foreach (var policy in RoutingPolicies.All)
            {
                var (lane, _) = RoutingDecisionBenchmark.LoadedLane(policy);
                var warm = Stopwatch.StartNew();
                for (var i = 0; i < decisions / 10 || warm.Elapsed < WarmUp; i++)
                {
                    Admit(lane, policy, i);
                }

                var samples = new double[decisions];
                var (allocated, collections) = (GC.GetAllocatedBytesForCurrentThread(), GC.CollectionCount(0));
                for (var i = 0; i < decisions; i++)
                {
                    var start = Stopwatch.GetTimestamp();
                    Admit(lane, policy, i);
                    samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                }

                (allocated, collections) = (GC.GetAllocatedBytesForCurrentThread() - allocated, GC.CollectionCount(0) - collections);
                Array.Sort(samples);
                p99[policy.Name] = At(samples, 0.99);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {policy.Name,-13} p50 {At(samples, 0.5),6:F2} µs   p99 {At(samples, 0.99),6:F2} µs   p99.9 {At(samples, 0.999),7:F2} µs   max {samples[^1],8:F1} µs   {allocated / decisions,4} B/decision   {collections,3} gen0 GCs"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  prefix p99 / least-loaded p99: {p99[RoutingPolicies.Prefix.Name] / p99[RoutingPolicies.LeastLoaded.Name]:F2}x"));
        }
    }

    static void Admit(DeepDeploy.Gateway.Inference.DeploymentLane lane, RoutingPolicy policy, int i) =>
        lane.AcquireAsync(policy, RoutingDecisionBenchmark.Bodies[i % RoutingDecisionBenchmark.Prompts], retry: false, CancellationToken.None)
            .Result.Lease!.Release();

    static double At(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

using System.Diagnostics;
using System.Globalization;
using DeepDeploy.Gateway.Inference.Routing;

namespace DeepDeploy.Benchmarks;

/// <summary>
/// Percentiles of single routing decisions (BenchmarkDotNet reports means of many): each admission of a loaded
/// 64-instance lane timed alone with Stopwatch timestamps, after a warm-up, per policy.
/// </summary>
public static class TailLatency
{
    public static void Run(int decisions)
    {
        Console.WriteLine($"Routing decision, {RoutingDecisionBenchmark.Instances} instances, {decisions} admissions per policy (acquire + release with a ~6 KB chat body, timed one by one), {Environment.ProcessorCount} cores");
        foreach (var policy in RoutingPolicies.All)
        {
            var (lane, _) = RoutingDecisionBenchmark.LoadedLane(policy);
            var samples = new double[decisions];
            for (var i = -decisions / 10; i < decisions; i++)
            {
                var start = Stopwatch.GetTimestamp();
                var body = RoutingDecisionBenchmark.Bodies[(i + decisions) % RoutingDecisionBenchmark.Prompts];
                lane.AcquireAsync(policy, body, retry: false, CancellationToken.None).Result.Lease!.Release();
                var micros = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                if (i >= 0)
                {
                    samples[i] = micros;
                }
            }

            Array.Sort(samples);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {policy.Name,-13} p50 {At(samples, 0.5),6:F2} µs   p99 {At(samples, 0.99),6:F2} µs   p99.9 {At(samples, 0.999),7:F2} µs   max {samples[^1],8:F1} µs"));
        }
    }

    static double At(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

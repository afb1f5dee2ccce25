namespace DeepDeploy.Tests.Autoscale;

/// <summary>
/// The autoscaler benchmarks' workload: 60 s of 250 ms steps, a low base load (0-2 requests) with bursts of 4-8 s to
/// 10-28 requests and quiet gaps of 4-10 s between them; a step's load is the requests it holds (each lasts the
/// step). The oracle knows the future and runs, at every step, exactly <c>ceil(load / max_batch_size)</c> instances.
/// </summary>
public static class BurstyTrace
{
    public const int MaxBatch = 4;
    public const int MaxInstances = 8;
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    public static IReadOnlyList<int> Steps { get; } = Generate();

    /// <summary>Instances the oracle runs for a step's load.</summary>
    public static int Needed(int load) => Math.Min(MaxInstances, (load + MaxBatch - 1) / MaxBatch);

    public static double OracleGpuSeconds => Steps.Sum(Needed) * Step.TotalSeconds;

    public static int Requests => Steps.Sum();

    static List<int> Generate()
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
}

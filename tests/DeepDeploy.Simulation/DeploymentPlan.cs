namespace DeepDeploy.Simulation;

/// <summary>One deployment a run creates. <see cref="DeployId"/> is set once created (null: the create was refused).</summary>
public sealed record DeploymentPlan(string User, string Name, string Gpu, int NumGpus, int Min, int Max, int MaxBatchSize)
{
    public string Model => $"{User}/{Name}";

    public string? DeployId { get; set; }

    /// <summary>Simulated time the create call began, and how long it took (real milliseconds).</summary>
    public double CreatedAt { get; set; }

    public double CreateMilliseconds { get; set; }

    public string? Refused { get; set; }

    /// <summary>A mix like a platform's: mostly 1-2 GPU models, a few 4 and 8; a third may scale to zero.</summary>
    public static IReadOnlyList<DeploymentPlan> Mix(SimulationOptions options)
    {
        var random = new Random(options.Seed);
        int[] gpus = [1, 1, 1, 2, 2, 4, 8];
        int[] batches = [8, 16, 32];
        return Enumerable.Range(0, options.Deployments).Select(i =>
        {
            var min = random.Next(3) == 0 ? 0 : 1;
            return new DeploymentPlan($"user{i % options.Users:D3}", $"model-{i:D4}", options.GpuTypes[i % options.GpuTypes.Count],
                Math.Min(gpus[random.Next(gpus.Length)], options.GpusPerNode), min, min + 1 + random.Next(3), batches[random.Next(batches.Length)]);
        }).ToArray();
    }
}

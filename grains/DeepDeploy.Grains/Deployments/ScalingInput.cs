namespace DeepDeploy.Grains.Deployments;

/// <summary>What a <see cref="IScalingPolicy"/> decides on: the gateways' total load (in flight + waiting), the fewest
/// instances wanted whatever the load (min_instances, a cold start), the live instances, the deployment's
/// max_batch_size and the time; and <see cref="Waiting"/>, the part of the load queued at gateways.</summary>
public readonly record struct ScalingInput(int Load, int Floor, int Current, int MaxBatchSize, DateTimeOffset Now)
{
    public int Waiting { get; init; }
}

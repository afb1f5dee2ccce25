namespace DeepDeploy.Contracts.Deployments;

/// <summary>The deploy object as the API shows it (no secrets). <see cref="ModelName"/> is the short name the owner chose.</summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentView(
    [property: Id(0)] string DeployId,
    [property: Id(1)] string ModelName,
    [property: Id(2)] string Owner,
    [property: Id(3)] DeploymentStatus Status,
    [property: Id(4)] string? FailReason,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset UpdatedAt,
    [property: Id(7)] int RunningInstances,
    [property: Id(8)] int PendingInstances,
    [property: Id(9)] string Gpu,
    [property: Id(10)] int NumGpus,
    [property: Id(11)] int MaxBatchSize,
    [property: Id(12)] string HfRepo,
    [property: Id(13)] string? HfRevision,
    [property: Id(14)] int MinInstances,
    [property: Id(15)] int MaxInstances,
    [property: Id(16)] string? Quantization = null,
    [property: Id(17)] string? WeightsFile = null,
    [property: Id(18)] DownloadProgress? Download = null,
    [property: Id(19)] string? PendingReason = null)
{
    /// <summary>The name clients call the deployment by, <c>owner/model_name</c> (<see cref="ModelName"/> is the second part).</summary>
    public string FullModelName => ModelNames.Full(Owner, ModelName);
}

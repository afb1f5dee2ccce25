using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Gateway.Deployments;

/// <summary>DeepInfra's deploy object, written in snake_case by the API's JSON options.</summary>
public sealed record DeployObject(
    string DeployId,
    string ModelName,
    string Type,
    string Status,
    string? FailReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    InstanceCounts Instances,
    DeployConfig Config,
    DeploySettings Settings,
    DownloadProgress? Download = null)
{
    public static DeployObject From(DeploymentView v) => new(
        v.DeployId,
        v.FullModelName,
        "llm",
        v.Status.ToString().ToLowerInvariant(),
        v.FailReason,
        v.CreatedAt,
        v.UpdatedAt,
        new InstanceCounts(v.RunningInstances, v.PendingInstances, v.PendingReason),
        new DeployConfig(v.Gpu, v.NumGpus, v.MaxBatchSize, new Weights(v.HfRepo, v.HfRevision, v.Quantization, v.WeightsFile)),
        new DeploySettings(v.MinInstances, v.MaxInstances),
        v.Download is null ? null : new DownloadProgress(v.Download.BytesDone, v.Download.BytesTotal));
}

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
    DeployObject.InstanceCounts Instances,
    DeployObject.DeployConfig Config,
    DeployObject.DeploySettings Settings,
    DeployObject.DownloadProgress? Download = null)
{
    public static DeployObject From(DeploymentView v) => new(
        v.DeployId,
        v.FullModelName,
        "llm",
        v.Status.ToString().ToLowerInvariant(),
        v.FailReason,
        v.CreatedAt,
        v.UpdatedAt,
        new InstanceCounts(v.RunningInstances, v.PendingInstances),
        new DeployConfig(v.Gpu, v.NumGpus, v.MaxBatchSize, new Weights(v.HfRepo, v.HfRevision, v.Quantization, v.WeightsFile)),
        new DeploySettings(v.MinInstances, v.MaxInstances),
        v.Download is null ? null : new DownloadProgress(v.Download.BytesDone, v.Download.BytesTotal));

    public sealed record InstanceCounts(int Running, int Pending);

    public sealed record DeployConfig(string Gpu, int NumGpus, int MaxBatchSize, Weights Weights);

    /// <param name="File">The GGUF file chosen (empty for a safetensors snapshot), once resolved.</param>
    public sealed record Weights(string Repo, string? Revision, string? Quantization, string? File);

    /// <summary>While <c>downloading</c>: bytes of the weights on the node so far, and in all.</summary>
    public sealed record DownloadProgress(long BytesDone, long BytesTotal);

    public sealed record DeploySettings(int MinInstances, int MaxInstances);
}

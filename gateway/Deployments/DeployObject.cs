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
    DeployObject.DeploySettings Settings)
{
    public static DeployObject From(DeploymentView v) => new(
        v.DeployId,
        $"{v.Owner}/{v.ModelName}",
        "llm",
        v.Status.ToString().ToLowerInvariant(),
        v.FailReason,
        v.CreatedAt,
        v.UpdatedAt,
        new InstanceCounts(v.RunningInstances, v.PendingInstances),
        new DeployConfig(v.Gpu, v.NumGpus, v.MaxBatchSize, new Weights(v.HfRepo, v.HfRevision)),
        new DeploySettings(v.MinInstances, v.MaxInstances));

    public sealed record InstanceCounts(int Running, int Pending);

    public sealed record DeployConfig(string Gpu, int NumGpus, int MaxBatchSize, Weights Weights);

    public sealed record Weights(string Repo, string? Revision);

    public sealed record DeploySettings(int MinInstances, int MaxInstances);
}

namespace DeepDeploy.Contracts.Nodes;

/// <summary>Everything a node needs to start one engine instance.</summary>
[GenerateSerializer, Immutable]
public sealed record InstanceLaunch(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string DeployId,
    [property: Id(2)] string ModelName,
    [property: Id(3)] string Gpu,
    [property: Id(4)] int NumGpus,
    [property: Id(5)] int MaxBatchSize,
    [property: Id(6)] string HfRepo,
    [property: Id(7)] string Commit,
    [property: Id(8)] string WeightsFile,
    [property: Id(9)] string? HfTokenProtected,
    [property: Id(10)] IReadOnlyList<string> ExtraArgs);

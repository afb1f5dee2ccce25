namespace DeepDeploy.Contracts.Deployments;

/// <summary>What a user asks to deploy, as a client sends it. <see cref="HfToken"/> is in clear text: the
/// deployment grain seals it before storing the spec.</summary>
[GenerateSerializer, Immutable]
public sealed record NewDeployment(
    [property: Id(0)] string Owner,
    [property: Id(1)] string ModelName,
    [property: Id(2)] string Gpu,
    [property: Id(3)] int NumGpus,
    [property: Id(4)] int MaxBatchSize,
    [property: Id(5)] string HfRepo,
    [property: Id(6)] string? HfRevision,
    [property: Id(7)] string? HfToken,
    [property: Id(8)] int MinInstances,
    [property: Id(9)] int MaxInstances,
    [property: Id(10)] IReadOnlyList<string> ExtraArgs,
    [property: Id(11)] string? Quantization = null)
{
    public string FullModelName => ModelNames.Full(Owner, ModelName);
}

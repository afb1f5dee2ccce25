namespace DeepDeploy.Contracts.Deployments;

/// <summary>What a user asked for. <see cref="HfTokenProtected"/> is the Hugging Face token sealed with
/// Data Protection: grains never hold it in clear text and it is never returned. <see cref="Quantization"/> picks
/// the GGUF file (a quantization name such as Q4_K_M, or a file name) or is passed to an external engine.
/// <see cref="ModelName"/> is the short name the owner chose; what leaves the deployment carries <see cref="FullModelName"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentSpec(
    [property: Id(0)] string Owner,
    [property: Id(1)] string ModelName,
    [property: Id(2)] string Gpu,
    [property: Id(3)] int NumGpus,
    [property: Id(4)] int MaxBatchSize,
    [property: Id(5)] string HfRepo,
    [property: Id(6)] string? HfRevision,
    [property: Id(7)] string? HfTokenProtected,
    [property: Id(8)] int MinInstances,
    [property: Id(9)] int MaxInstances,
    [property: Id(10)] IReadOnlyList<string> ExtraArgs,
    [property: Id(11)] string? Quantization = null)
{
    /// <summary>The name clients call the deployment by, <c>owner/model_name</c> (<see cref="ModelName"/> is the second part).</summary>
    public string FullModelName => ModelNames.Full(Owner, ModelName);
}

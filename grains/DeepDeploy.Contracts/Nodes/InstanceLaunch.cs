namespace DeepDeploy.Contracts.Nodes;

/// <summary>Everything a node needs to start one engine instance. <see cref="ModelName"/> is the full name the
/// engine serves, <c>owner/model_name</c> (DeploymentSpec.FullModelName).</summary>
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
    [property: Id(10)] IReadOnlyList<string> ExtraArgs,
    [property: Id(11)] string? Quantization = null,
    [property: Id(12)] string WeightsFormat = WeightsFormats.Gguf);

/// <summary>Weights formats a node's engines may take.</summary>
public static class WeightsFormats
{
    /// <summary>One GGUF file (<see cref="InstanceLaunch.WeightsFile"/>): the built-in worker, llama-server.</summary>
    public const string Gguf = "gguf";

    /// <summary>A whole repository snapshot with *.safetensors weights: vLLM, SGLang (an engine profile).</summary>
    public const string Safetensors = "safetensors";
}

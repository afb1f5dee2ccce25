namespace DeepDeploy.Gateway.Deployments;

/// <summary>The JSON of <c>POST /deploy/llm</c> as the OpenAPI document shows it. The endpoint parses the body
/// itself (<see cref="DeployRequest.Parse"/>) to name the field at fault in every error. <c>quantization</c>: for GGUF
/// repos a quantization name (e.g. <c>Q4_K_M</c>) or a file name; default the largest GGUF that fits the instance's GPU
/// memory. For safetensors repos it is passed to the external engine (e.g. vLLM's <c>--quantization awq</c>).</summary>
public sealed record DeployBody(
    string ModelName,
    string Gpu,
    int? NumGpus,
    int? MaxBatchSize,
    DeployBody.HfWeights Hf,
    DeployBody.InstanceSettings? Settings,
    IReadOnlyList<string>? ExtraArgs,
    string? Quantization = null)
{
    public sealed record HfWeights(string Repo, string? Revision, string? Token);

    public sealed record InstanceSettings(int? MinInstances, int? MaxInstances);
}

namespace DeepDeploy.Gateway.Deployments;

/// <summary>The JSON of <c>POST /deploy/llm</c> as the OpenAPI document shows it. The endpoint parses the body
/// itself (<see cref="DeployRequest.Parse"/>) to name the field at fault in every error.</summary>
public sealed record DeployBody(
    string ModelName,
    string Gpu,
    int? NumGpus,
    int? MaxBatchSize,
    DeployBody.HfWeights Hf,
    DeployBody.InstanceSettings? Settings,
    IReadOnlyList<string>? ExtraArgs)
{
    public sealed record HfWeights(string Repo, string? Revision, string? Token);

    public sealed record InstanceSettings(int? MinInstances, int? MaxInstances);
}

using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Http;

namespace DeepDeploy.Gateway.Deployments;

/// <summary>A validated <c>POST /deploy/llm</c> body: every default applied, every rule checked
/// (<see cref="DeployBody.Validate"/>).</summary>
public sealed record DeployRequest(
    string ModelName,
    string Gpu,
    int NumGpus,
    int MaxBatchSize,
    string HfRepo,
    string? HfRevision,
    string? HfToken,
    int MinInstances,
    int MaxInstances,
    IReadOnlyList<string> ExtraArgs,
    string? Quantization = null)
{
    /// <summary>Reads and validates the body of a create by <paramref name="user"/>.</summary>
    public static async Task<DeployRequest> ReadAsync(HttpRequest request, string user, CancellationToken cancellationToken) =>
        (await JsonBody.ReadAsync(request, RequestJsonContext.Default.DeployBody, cancellationToken)).Validate(user);
}

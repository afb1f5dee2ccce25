namespace DeepDeploy.Grains.Deployments;

/// <summary>Resolves a Hugging Face repo + revision to a commit and the weights file to run. Implemented by
/// the host (HTTP to the Hub); the grain only awaits it.</summary>
public interface IWeightsResolver
{
    Task<WeightsResolution> ResolveAsync(string repo, string? revision, string? tokenProtected, CancellationToken cancellationToken);

    /// <summary>Resolves with what decides the file: the quantization asked for and the instance's GPUs (their
    /// memory bounds the default choice). Resolvers that do not choose fall back to the plain call.</summary>
    Task<WeightsResolution> ResolveAsync(WeightsRequest request, CancellationToken cancellationToken) =>
        ResolveAsync(request.Repo, request.Revision, request.TokenProtected, cancellationToken);
}

/// <summary>What a deployment asks of its weights.</summary>
public sealed record WeightsRequest(string Repo, string? Revision, string? TokenProtected, string? Quantization, string Gpu, int NumGpus);

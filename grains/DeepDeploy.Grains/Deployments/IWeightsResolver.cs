namespace DeepDeploy.Grains.Deployments;

/// <summary>Resolves a Hugging Face repo + revision to a commit and the weights file to run. Implemented by
/// the host (HTTP to the Hub); the grain only awaits it.</summary>
public interface IWeightsResolver
{
    Task<WeightsResolution> ResolveAsync(string repo, string? revision, string? tokenProtected, CancellationToken cancellationToken);
}

using DeepDeploy.Grains.Deployments;

namespace DeepDeploy.Tests.Cluster;

/// <summary>TEST DOUBLE for the Hugging Face Hub in grain-level cluster tests: every repo resolves to one
/// fixed commit and GGUF file (the real resolver is tested against the local hub stand-in elsewhere).</summary>
public sealed class FixedWeightsResolver : IWeightsResolver
{
    public Task<WeightsResolution> ResolveAsync(string repo, string? revision, string? tokenProtected, CancellationToken cancellationToken) =>
        Task.FromResult(WeightsResolution.Resolved(new string('a', 40), "model.gguf"));
}

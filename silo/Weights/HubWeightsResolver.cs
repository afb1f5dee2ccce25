using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;
using Microsoft.AspNetCore.DataProtection;

namespace DeepDeploy.Silo.Weights;

/// <summary>Resolves a deployment's weights on the Hub: revision → commit, and the GGUF file the built-in engine runs.</summary>
public sealed class HubWeightsResolver(HfEndpoint endpoint, IHttpClientFactory http, IDataProtectionProvider protection) : IWeightsResolver
{
    public async Task<WeightsResolution> ResolveAsync(string repo, string? revision, string? tokenProtected, CancellationToken cancellationToken)
    {
        var client = new HuggingFaceClient(http.CreateClient(nameof(HuggingFaceClient)), await endpoint.GetAsync());
        try
        {
            var snapshot = await client.ResolveAsync(repo, revision, Unprotect(protection, tokenProtected), cancellationToken);
            // The built-in engine runs GGUF; the largest file is the least quantized, the best quality.
            var gguf = snapshot.Files
                .Where(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
                .OrderByDescending(f => f.Size)
                .FirstOrDefault();
            return gguf is null
                ? WeightsResolution.Failed($"weights repo '{repo}' at revision '{snapshot.Revision}' has no .gguf file; the built-in engine runs GGUF weights")
                : WeightsResolution.Resolved(snapshot.Commit, gguf.Path);
        }
        catch (HubException e)
        {
            return WeightsResolution.Failed(e.Message);
        }
    }

    public static string? Unprotect(IDataProtectionProvider protection, string? tokenProtected) =>
        tokenProtected is null ? null : protection.CreateProtector(SecretPurposes.HfToken).Unprotect(tokenProtected);
}

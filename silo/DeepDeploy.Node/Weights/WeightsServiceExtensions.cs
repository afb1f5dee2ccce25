using DeepDeploy.Grains.Deployments;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DeepDeploy.Node.Weights;

public static class WeightsServiceExtensions
{
    /// <summary>The hub every silo resolves weights from (<paramref name="hfEndpoint"/>; null: the local hub), the operator's
    /// <c>HF_TOKEN</c> with its allow-list, <see cref="WeightsOptions"/>, and the resolver. A test double of
    /// <see cref="IWeightsResolver"/> or <see cref="HfEndpoint"/> registered before this call stays.</summary>
    public static IServiceCollection AddHubWeights(this IServiceCollection services, IConfiguration configuration, string? hfEndpoint)
    {
        var section = configuration.GetSection(NodeSiloExtensions.Section);
        services.Configure<WeightsOptions>(section);
        var token = configuration[HuggingFaceClient.TokenEnvironmentVariable];
        services.TryAddSingleton(new HfEndpoint(hfEndpoint)
        {
            DefaultToken = string.IsNullOrWhiteSpace(token) ? null : token.Trim(),
            TokenRepos = RepoGlobs.Parse(section.Get<WeightsOptions>()?.HfTokenRepos),
        });
        services.TryAddSingleton<IWeightsResolver, HubWeightsResolver>();
        return services;
    }
}

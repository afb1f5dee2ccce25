using DeepDeploy.Grains;
using DeepDeploy.Grains.Deployments;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace DeepDeploy.Tests.Deployments;

/// <summary>A deployment's state as its silo's grain storage holds it: what an activation that died now would leave.
/// Its ETag is the saved version (unchanged means not written).</summary>
public static class StoredDeployment
{
    public static async Task<GrainState<DeploymentState>> ReadAsync(IServiceProvider silo, GrainId deployment)
    {
        var saved = new GrainState<DeploymentState>(new DeploymentState());
        await silo.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default).ReadStateAsync("deployment", deployment, saved);
        return saved;
    }
}

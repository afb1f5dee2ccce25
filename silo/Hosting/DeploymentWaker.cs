using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Silo.Hosting;

/// <summary>At cluster start, activates every deployment so that its control loop runs again and brings back
/// the instances it wants. Runs after the node agents have registered their GPUs.</summary>
public sealed class DeploymentWaker(IGrainFactory grains, ILogger<DeploymentWaker> log) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DeploymentWaker), ServiceLifecycleStage.Active + 1, WakeAsync);

    async Task WakeAsync(CancellationToken cancellationToken)
    {
        var woken = 0;
        foreach (var user in await grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).List())
        {
            var account = await grains.GetGrain<IUserQuotaGrain>(user).Get();
            foreach (var deployId in account?.Deployments ?? [])
            {
                await grains.GetGrain<IDeploymentGrain>(deployId).Wake();
                woken++;
            }
        }

        log.LogInformation("Woke {Count} deployments", woken);
    }
}

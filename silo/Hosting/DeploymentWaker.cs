using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Users;

namespace DeepDeploy.Silo.Hosting;

/// <summary>
/// Activates every deployment so that its control loop runs: at cluster start (after the node agents have
/// registered their GPUs), and whenever a silo dies — a deployment grain lost with its silo comes back only
/// when called, and its instances on a lost node must be replaced now, not at the next API call. Only the
/// oldest live silo does it, so the cluster wakes each deployment once.
/// </summary>
public sealed class DeploymentWaker(
    IGrainFactory grains,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    ILogger<DeploymentWaker> log) : ILifecycleParticipant<ISiloLifecycle>
{
    readonly CancellationTokenSource _stopping = new();

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DeploymentWaker), ServiceLifecycleStage.Active + 1, StartAsync, StopAsync);

    async Task StartAsync(CancellationToken cancellationToken)
    {
        await WakeAllAsync("start");
        _ = Task.Run(WatchAsync);
    }

    Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    async Task WatchAsync()
    {
        var dead = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress).ToHashSet();
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(_stopping.Token))
            {
                var newlyDead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && dead.Add(m.SiloAddress)).ToList();
                var oldestAlive = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress)
                    .OrderBy(a => a.Generation).ThenBy(a => a.ToString(), StringComparer.Ordinal).FirstOrDefault();
                if (newlyDead.Count > 0 && silo.SiloAddress.Equals(oldestAlive))
                {
                    await WakeAllAsync($"silo {string.Join(", ", newlyDead.Select(m => m.SiloAddress))} died");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            log.LogError(e, "Membership watch ended");
        }
    }

    async Task WakeAllAsync(string why)
    {
        var woken = 0;
        try
        {
            foreach (var user in await grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).List())
            {
                var account = await grains.GetGrain<IUserQuotaGrain>(user).Get();
                foreach (var deployId in account?.Deployments ?? [])
                {
                    await grains.GetGrain<IDeploymentGrain>(deployId).Wake();
                    woken++;
                }
            }
        }
        catch (Exception e) when (why != "start")
        {
            log.LogWarning(e, "Waking deployments after '{Why}' stopped early", why);
        }

        log.LogInformation("Woke {Count} deployments ({Why})", woken, why);
    }
}

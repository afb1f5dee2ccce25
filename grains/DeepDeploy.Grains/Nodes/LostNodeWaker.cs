using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// When a silo dies, wakes the deployments that had instances on its nodes, so that they are placed again now
/// rather than at their next reminder. Only the oldest live silo does it, so each is woken once. Every other
/// deployment needs nothing: its reminder brings it back if its own activation was lost.
/// </summary>
public sealed class LostNodeWaker(
    IGrainFactory grains,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    ILogger<LostNodeWaker> log) : ILifecycleParticipant<ISiloLifecycle>
{
    readonly CancellationTokenSource _stopping = new();

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(LostNodeWaker), ServiceLifecycleStage.Active, Start, Stop);

    Task Start(CancellationToken cancellationToken)
    {
        _ = Task.Run(WatchAsync);
        return Task.CompletedTask;
    }

    Task Stop(CancellationToken cancellationToken)
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
                var newlyDead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && dead.Add(m.SiloAddress)).Select(m => m.SiloAddress).ToList();
                var oldestAlive = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress)
                    .OrderBy(a => a.Generation).ThenBy(a => a.ToString(), StringComparer.Ordinal).FirstOrDefault();
                if (newlyDead.Count > 0 && silo.SiloAddress.Equals(oldestAlive))
                {
                    await WakeAsync(newlyDead);
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

    async Task WakeAsync(IReadOnlyList<SiloAddress> lost)
    {
        try
        {
            var deployments = await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).DeploymentsOn(lost);
            await Task.WhenAll(deployments.Select(id => grains.GetGrain<IDeploymentGrain>(id).Wake()));
            log.LogInformation("Woke {Count} deployments with instances on lost silo(s) {Silos}", deployments.Count, string.Join(", ", lost));
        }
        catch (Exception e)
        {
            // Their reminders bring them back later.
            log.LogWarning(e, "Waking the deployments of lost silo(s) {Silos} failed", string.Join(", ", lost));
        }
    }
}

using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Nodes;

/// <summary>
/// When a silo dies, wakes the deployments that had instances on its nodes (its <see cref="SiloNodesGrain"/> record),
/// so that they are placed again now rather than at their next reminder. Only the oldest live silo does it, so each is woken once. Every other
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
        foreach (var dead in lost)
        {
            // Each silo's own record, not the registry: the registry's view is memory and may have died on that silo.
            var record = grains.GetGrain<ISiloNodesGrain>(ISiloNodesGrain.KeyOf(dead));
            try
            {
                var deployments = await record.Deployments();
                await Task.WhenAll(deployments.Select(id => grains.GetGrain<IDeploymentGrain>(id).Wake()));
                await record.Forget();
                log.LogInformation("Woke {Count} deployments with instances on lost silo {Silo}", deployments.Count, dead);
            }
            catch (Exception e)
            {
                // Their reminders bring them back later.
                log.LogWarning(e, "Waking the deployments of lost silo {Silo} failed", dead);
            }
        }
    }
}

using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Grains.Events;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Used by a deployment grain: an instance's life as the deployment records it. A node's report moves its phase; an
/// instance that ended, failed or was lost with its node is forgotten: its meter stopped, its GPUs released, its node
/// remembered. The grain writes the state afterwards; the events outbox is made on first use, once the owner is known.
/// </summary>
public sealed class InstanceLifecycle(string deployId, IGrainFactory grains, TimeProvider time, DeploymentMeter meter,
    Func<DeploymentEvents> events, ILogger log)
{
    /// <summary>The silo each started instance's node answered from, until the instance's first report puts it into its
    /// record (that report is always written).</summary>
    readonly Dictionary<string, SiloAddress> _startedOn = new(StringComparer.Ordinal);

    /// <summary>Nodes took these instances. Their silos are not written now: the placement wrote the intents before asking
    /// and the first report writes again, so a write in between would save the silos alone (session 14: one write per
    /// placement). Lost with the activation or a failed write, which leaves the record as a crash before the nodes
    /// answered does: the node's lease (<see cref="NodeLostAsync"/>) finds the instance gone if its silo dies first.</summary>
    public void Started(IEnumerable<NodeAllocation> placed)
    {
        foreach (var allocation in placed.Where(a => a.Silo is not null))
        {
            _startedOn[allocation.InstanceId] = allocation.Silo!;
        }
    }

    /// <summary>Applies a node's report; false when there is nothing to save: progress only, or an instance already forgotten.</summary>
    public async Task<bool> ApplyAsync(DeploymentState s, InstanceUpdate update)
    {
        if (!s.Instances.TryGetValue(update.InstanceId, out var instance))
        {
            // A report about an instance this deployment already forgot: make sure nothing stays reserved.
            if (s.Spec is not null && update.Phase is InstancePhase.Exited or InstancePhase.Failed)
            {
                await grains.GetGrain<IUserQuotaGrain>(s.Spec.Owner).ReleaseGpus(update.InstanceId);
            }

            return false;
        }

        if (update.Phase == InstancePhase.Downloading && instance.Phase == InstancePhase.Downloading && update.Download is not null)
        {
            // Progress only: shown by the deploy object, not worth a state write.
            instance.Download = update.Download;
            return false;
        }

        log.LogInformation("Deployment {DeployId} instance {InstanceId}: {Phase} {Message}", deployId, update.InstanceId, update.Phase, update.Message);
        if (_startedOn.Remove(instance.Id, out var silo))
        {
            instance.Silo = silo;
        }

        instance.Download = update.Phase == InstancePhase.Downloading ? update.Download : null;
        Report(instance, update);
        switch (update.Phase)
        {
            case InstancePhase.Exited or InstancePhase.Failed:
                await ForgetAsync(s, instance, failed: update.Phase == InstancePhase.Failed && !instance.Stopping, update.Message);
                break;
            case InstancePhase.Running:
                if (instance.Phase != InstancePhase.Running)
                {
                    instance.ServingSince = time.GetUtcNow();
                }

                instance.Phase = update.Phase;
                instance.Endpoint = update.Endpoint;
                instance.Secret = update.Secret;
                instance.RunningSince ??= time.GetUtcNow();
                s.ConsecutiveFailures = 0;
                break;
            default:
                if (instance.Phase == InstancePhase.Running && instance.RunningSince is not null)
                {
                    // Restarting after a crash: not serving, not billed, until it runs again.
                    await meter.PauseAsync(s.Spec!, instance);
                }

                instance.Phase = update.Phase;
                break;
        }

        instance.Message = update.Message;
        return true;
    }

    /// <summary>The registry found <paramref name="node"/> silent for its lease: its instances are gone, billed until its last report.</summary>
    public async Task NodeLostAsync(DeploymentState s, IEnumerable<InstanceRecord> lost, string node, DateTimeOffset lastReport)
    {
        foreach (var instance in lost)
        {
            log.LogWarning("Deployment {DeployId} lost instance {InstanceId}: node {Node} stopped reporting (last report {LastReport:O})",
                deployId, instance.Id, node, lastReport);
            events().Add(DeploymentEventKind.Failed, $"instance {instance.Id} lost: node {node} stopped reporting (lease expired, last report {lastReport:O})",
                e => e with { InstanceId = instance.Id, Node = node, FailureReason = "node lease expired" });
            await ForgetAsync(s, instance, failed: false, $"lost: node {node} stopped reporting", endedAt: lastReport);
            s.TroubledNodes[node] = time.GetUtcNow();
        }
    }

    /// <summary>Instances whose node's silo the cluster declared dead are gone with it: forget them, so that
    /// replacements are placed on other nodes at once.</summary>
    public async Task ForgetLostAsync(DeploymentState s, ClusterMembershipSnapshot snapshot)
    {
        foreach (var instance in s.Instances.Values.Where(i => SiloOf(i) is { } silo && snapshot.GetSiloStatus(silo) == SiloStatus.Dead).ToList())
        {
            log.LogWarning("Deployment {DeployId} lost instance {InstanceId}: node {Node} is down", deployId, instance.Id, instance.Node);
            events().Add(DeploymentEventKind.Failed, $"instance {instance.Id} lost: node {instance.Node} is down (its silo was declared dead by cluster membership)",
                e => e with { InstanceId = instance.Id, Node = instance.Node, FailureReason = "node down" });
            await ForgetAsync(s, instance, failed: false, $"lost: node {instance.Node} is down", endedAt: await LastReportAsync(instance.Node));
            s.TroubledNodes[instance.Node] = time.GetUtcNow();
        }
    }

    /// <summary>An instance is gone: stop its meter (at <paramref name="endedAt"/> when known, e.g. a lost node's last
    /// report, else now), free its quota, remember its node.</summary>
    public async Task ForgetAsync(DeploymentState s, InstanceRecord instance, bool failed, string? message, DateTimeOffset? endedAt = null)
    {
        s.Instances.Remove(instance.Id);
        _startedOn.Remove(instance.Id);
        s.RecentNodes.Remove(instance.Node);
        s.RecentNodes.Add(instance.Node);
        if (s.RecentNodes.Count > 8)
        {
            s.RecentNodes.RemoveAt(0);
        }

        if (instance.RunningSince is { } since)
        {
            await meter.StopAsync(s.Spec!, instance, endedAt is { } at ? (at > since ? at : since) : null);
        }

        if (failed)
        {
            s.TroubledNodes[instance.Node] = time.GetUtcNow();
            s.ConsecutiveFailures++;
            if (s.ConsecutiveFailures >= DeploymentGrain.MaxConsecutiveFailures && !s.IsFinished)
            {
                s.SetStatus(DeploymentStatus.Failed, $"instance failed {s.ConsecutiveFailures} times in a row: {message}", time.GetUtcNow());
            }
        }

        await grains.GetGrain<IUserQuotaGrain>(s.Spec!.Owner).ReleaseGpus(instance.Id);
    }

    SiloAddress? SiloOf(InstanceRecord instance) => instance.Silo ?? _startedOn.GetValueOrDefault(instance.Id);

    /// <summary>When a lost node last reported, if the registry knows: its instances are billed until then, not until now.</summary>
    async Task<DateTimeOffset?> LastReportAsync(string node)
    {
        try
        {
            return await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).LastReport(node);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not read the last report of node {Node}", node);
            return null;
        }
    }

    /// <summary>An instance's new phase; a start after it started already is a restart, a failure says why.</summary>
    void Report(InstanceRecord instance, InstanceUpdate update)
    {
        if (update.Phase == InstancePhase.Starting && instance.Phase is InstancePhase.Starting or InstancePhase.Running)
        {
            instance.Restarts++;
            events().Add(DeploymentEventKind.InstanceRestarted, $"instance {instance.Id} restarts ({instance.Restarts}): {update.Message}",
                e => e with { InstanceId = instance.Id, Node = instance.Node, Phase = update.Phase, RestartCount = instance.Restarts, Reason = update.Message });
            return;
        }

        var kind = update.Phase == InstancePhase.Failed ? DeploymentEventKind.Failed : DeploymentEventKind.InstancePhase;
        events().Add(kind, $"instance {instance.Id} on {instance.Node}: {update.Phase.ToString().ToLowerInvariant()}{(update.Message is null ? "" : ": " + update.Message)}",
            e => e with
            {
                InstanceId = instance.Id,
                Node = instance.Node,
                Phase = update.Phase,
                RestartCount = instance.Restarts,
                FailureReason = update.Phase == InstancePhase.Failed ? update.Message : null,
            });
    }
}

using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// A deployment's side of billing, kept in its grain's memory: opens, renews, pauses and closes the meters of
/// its instances on the owner's ledger and remembers the owner's last known standing. A billing outage never
/// stops the control loop: the last standing holds. A pause or stop the ledger could not take (its storage is
/// down) is kept with the time it happened and sent again, in order, before the next renewal, so it is billed at
/// that time however late it arrives; only if this activation dies first does the meter run out with its lease.
/// Which meters the ledger opened is not saved with the deployment: a new activation starts them again, which the
/// ledger takes as a repeat (it keeps every meter by instance id), so the tick after an instance came up writes
/// nothing (session 14: it wrote the deployment once per instance for that flag).
/// </summary>
public sealed class DeploymentMeter(string deployId, IGrainFactory grains, TimeProvider time, GpuPrices prices, ILogger log)
{
    /// <summary>Unsent calls kept at most; beyond, the oldest is dropped (its meter runs out with its lease).</summary>
    public const int MaxUnsent = 256;

    readonly Queue<(string What, Func<IBillingLedgerGrain, Task> Call)> _unsent = new();

    /// <summary>Instances whose meter start the ledger took (or that is queued in <see cref="_unsent"/>), in this activation.</summary>
    readonly HashSet<string> _metered = new(StringComparer.Ordinal);

    /// <summary>Whether the owner may run, as of the last renewal.</summary>
    public BillingStanding Standing { get; private set; } = new(true, null);

    /// <summary>Pauses and stops the ledger has not taken yet.</summary>
    public int Unsent => _unsent.Count;

    /// <summary>Starts the meters of instances that began serving, renews those still serving, and learns
    /// whether the owner may run.</summary>
    public async Task<BillingStanding> RenewAsync(DeploymentSpec spec, IEnumerable<InstanceRecord> instances)
    {
        var ledger = grains.GetGrain<IBillingLedgerGrain>(spec.Owner);
        try
        {
            // Before any renewal: a renewal of a restarted instance must not reach the ledger ahead of its pause.
            await SendUnsentAsync(ledger);
            var serving = instances.Where(i => i.RunningSince is not null && i.Phase == InstancePhase.Running).ToList();
            foreach (var instance in serving.Where(i => !_metered.Contains(i.Id)))
            {
                await ledger.MeterStart(StartOf(spec, instance));
                _metered.Add(instance.Id);
            }

            Standing = await ledger.Renew(serving.Select(i => new MeterRenewal(i.Id, i.ServingSince ?? i.RunningSince!.Value)).ToArray(), time.GetUtcNow());
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Billing ledger of {User} unreachable", spec.Owner);
        }

        return Standing;
    }

    /// <summary>The instance stopped serving for a while (restarting): not billed until it runs again.</summary>
    public Task PauseAsync(DeploymentSpec spec, InstanceRecord instance)
    {
        var (at, since) = (time.GetUtcNow(), instance.ServingSince ?? instance.RunningSince!.Value);
        return SendAsync(spec, $"pause the meter of {instance.Id}", ledger => ledger.MeterPause(instance.Id, at, since));
    }

    /// <summary>The instance is gone: its meter closes now, or <paramref name="at"/> (a lost node's last report), opened
    /// first if the ledger never saw it.</summary>
    public Task StopAsync(DeploymentSpec spec, InstanceRecord instance, DateTimeOffset? at = null)
    {
        var end = at ?? time.GetUtcNow();
        DateTimeOffset? since = instance.Phase == InstancePhase.Running ? instance.ServingSince ?? instance.RunningSince : null;
        if (!_metered.Remove(instance.Id))
        {
            var start = StartOf(spec, instance);
            _unsent.Enqueue(($"start the meter of {instance.Id}", ledger => ledger.MeterStart(start)));
        }

        return SendAsync(spec, $"stop the meter of {instance.Id}", ledger => ledger.MeterStop(instance.Id, end, since));
    }

    async Task SendAsync(DeploymentSpec spec, string what, Func<IBillingLedgerGrain, Task> call)
    {
        _unsent.Enqueue((what, call));
        while (_unsent.Count > MaxUnsent)
        {
            log.LogError("Deployment {DeployId}: gave up trying to {What}; its meter runs out with its lease", deployId, _unsent.Dequeue().What);
        }

        try
        {
            await SendUnsentAsync(grains.GetGrain<IBillingLedgerGrain>(spec.Owner));
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not {What} ({Unsent} waiting): sent again with the next renewal", _unsent.Peek().What, _unsent.Count);
        }
    }

    async Task SendUnsentAsync(IBillingLedgerGrain ledger)
    {
        while (_unsent.TryPeek(out var unsent))
        {
            await unsent.Call(ledger);
            _unsent.Dequeue();
        }
    }

    MeterStart StartOf(DeploymentSpec spec, InstanceRecord instance) =>
        new(instance.Id, deployId, spec.FullModelName, spec.Gpu, spec.NumGpus, prices.Of(spec.Gpu), instance.RunningSince!.Value);
}

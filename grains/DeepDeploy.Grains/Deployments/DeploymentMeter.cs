using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// A deployment's side of billing, kept in its grain's memory: opens, renews, pauses and closes the meters of
/// its instances on the owner's ledger and remembers the owner's last known standing. A billing outage never
/// stops the control loop: the last standing holds, and an unclosed meter runs out with its lease.
/// </summary>
public sealed class DeploymentMeter(string deployId, IGrainFactory grains, TimeProvider time, GpuPrices prices, ILogger log)
{
    /// <summary>Whether the owner may run, as of the last renewal.</summary>
    public BillingStanding Standing { get; private set; } = new(true, null);

    /// <summary>Starts the meters of instances that began serving, renews those still serving, and learns
    /// whether the owner may run.</summary>
    public async Task<BillingStanding> RenewAsync(DeploymentSpec spec, IEnumerable<InstanceRecord> instances)
    {
        var ledger = grains.GetGrain<IBillingLedgerGrain>(spec.Owner);
        try
        {
            var serving = instances.Where(i => i.RunningSince is not null && i.Phase == InstancePhase.Running).ToList();
            foreach (var instance in serving.Where(i => !i.Metered))
            {
                await ledger.MeterStart(StartOf(spec, instance));
                instance.Metered = true;
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
    public async Task PauseAsync(DeploymentSpec spec, InstanceRecord instance)
    {
        try
        {
            await grains.GetGrain<IBillingLedgerGrain>(spec.Owner).MeterPause(instance.Id, time.GetUtcNow());
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not pause the meter of {InstanceId}", instance.Id);
        }
    }

    /// <summary>The instance is gone: its meter closes now, or <paramref name="at"/> (a lost node's last report), opened
    /// first if the ledger never saw it.</summary>
    public async Task StopAsync(DeploymentSpec spec, InstanceRecord instance, DateTimeOffset? at = null)
    {
        var ledger = grains.GetGrain<IBillingLedgerGrain>(spec.Owner);
        try
        {
            if (!instance.Metered)
            {
                await ledger.MeterStart(StartOf(spec, instance));
            }

            await ledger.MeterStop(instance.Id, at ?? time.GetUtcNow());
        }
        catch (Exception e)
        {
            // The meter's lease runs out instead: billed until its last renewal.
            log.LogWarning(e, "Could not stop the meter of {InstanceId}", instance.Id);
        }
    }

    MeterStart StartOf(DeploymentSpec spec, InstanceRecord instance) =>
        new(instance.Id, deployId, spec.FullModelName, spec.Gpu, spec.NumGpus, prices.Of(spec.Gpu), instance.RunningSince!.Value);
}

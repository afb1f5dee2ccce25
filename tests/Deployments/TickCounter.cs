using DeepDeploy.Contracts.Billing;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Deployments;

/// <summary>Counts a cluster's deployment ticks: every tick renews its instances' meters on the owner's ledger, so a
/// renewal is a tick seen. Add <see cref="Filter"/> to the silo.</summary>
public sealed class TickCounter
{
    int _renewals;

    public void Filter(ISiloBuilder silo) => silo.AddIncomingGrainCallFilter(context =>
    {
        if (context.InterfaceMethod.DeclaringType == typeof(IBillingLedgerGrain) && context.InterfaceMethod.Name == nameof(IBillingLedgerGrain.Renew))
        {
            Interlocked.Increment(ref _renewals);
        }

        return context.Invoke();
    });

    /// <summary>Completes once <paramref name="ticks"/> more ticks ran.</summary>
    public Task WaitAsync(int ticks, string what)
    {
        var seen = Volatile.Read(ref _renewals);
        return Eventually.TrueAsync(() => Volatile.Read(ref _renewals) >= seen + ticks, TimeSpan.FromSeconds(20), what);
    }
}

using DeepDeploy.Contracts.Capacity;
using DeepDeploy.Contracts.Nodes;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Capacity;

/// <summary>
/// The fair share of one GPU type (<see cref="FairShareLedger"/>). Memory only: deployments re-send their holding
/// every two minutes and ask every tick while they wait, so a new activation knows the pool again within that time.
/// It reads the free GPUs from the node registry on each claim that waits (the registry calls no arbiter), and calls
/// no deployment: no call cycle.
/// </summary>
public sealed class CapacityArbiterGrain(IGrainFactory grains, TimeProvider time, ILogger<CapacityArbiterGrain> log) : Grain, ICapacityArbiterGrain
{
    FairShareLedger? _ledger;

    string Gpu => this.GetPrimaryKeyString();

    FairShareLedger Ledger => _ledger ??= new FairShareLedger(Gpu);

    public async Task<CapacityGrant> Claim(CapacityClaim claim)
    {
        var now = time.GetUtcNow();
        Ledger.Record(claim, now);
        if (claim.Wanted <= claim.Live)
        {
            return CapacityGrant.None;
        }

        var nodes = await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).List();
        var grant = Ledger.Grant(claim.DeployId, nodes
            .Where(n => n.Total.ContainsKey(Gpu))
            .Select(n => (n.Free.GetValueOrDefault(Gpu), n.Total[Gpu]))
            .ToList(), time.GetUtcNow());
        if (grant.Instances == 0)
        {
            log.LogDebug("Deployment {DeployId} waits for {Gpu} capacity: {Ahead} ahead", claim.DeployId, Gpu, grant.Ahead);
        }

        return grant;
    }

    public Task<IReadOnlyList<CapacityWaiter>> Queue() => Task.FromResult(Ledger.Queue(time.GetUtcNow()));
}

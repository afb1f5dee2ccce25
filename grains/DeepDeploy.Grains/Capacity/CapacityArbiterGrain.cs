using DeepDeploy.Contracts.Capacity;
using DeepDeploy.Contracts.Nodes;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace DeepDeploy.Grains.Capacity;

/// <summary>
/// The fair share of one GPU type (<see cref="FairShareLedger"/>). Memory only: deployments re-send their holding
/// every two minutes and ask every tick while they wait, so a new activation knows the pool again within that time.
/// It reads the free GPUs from the node registry (one read serves the claims of <see cref="ViewAge"/>; the registry
/// calls no arbiter) and calls no deployment: no call cycle. Reentrant so that claims do not queue behind that read:
/// the ledger changes only in the synchronous parts of a turn.
/// </summary>
[Reentrant]
public sealed class CapacityArbiterGrain(IGrainFactory grains, TimeProvider time, ILogger<CapacityArbiterGrain> log) : Grain, ICapacityArbiterGrain
{
    /// <summary>How long one read of the registry's free GPUs serves: a grant from a slightly old view at worst finds no
    /// node at placement and is asked for again at the next tick.</summary>
    static readonly TimeSpan ViewAge = TimeSpan.FromMilliseconds(250);

    FairShareLedger? _ledger;
    (DateTimeOffset At, Task<List<(int Free, int Total)>> Nodes)? _view;

    string Gpu => this.GetPrimaryKeyString();

    FairShareLedger Ledger => _ledger ??= new FairShareLedger(Gpu);

    public async Task<CapacityGrant> Claim(CapacityClaim claim)
    {
        Ledger.Record(claim, time.GetUtcNow());
        if (claim.Wanted <= claim.Live)
        {
            return CapacityGrant.None;
        }

        var nodes = await ViewAsync();
        var grant = Ledger.Grant(claim.DeployId, nodes, time.GetUtcNow());
        if (grant.Instances == 0)
        {
            log.LogDebug("Deployment {DeployId} waits for {Gpu} capacity: {Ahead} ahead", claim.DeployId, Gpu, grant.Ahead);
        }

        return grant;
    }

    public Task<IReadOnlyList<CapacityWaiter>> Queue() => Task.FromResult(Ledger.Queue(time.GetUtcNow()));

    Task<List<(int Free, int Total)>> ViewAsync()
    {
        var now = time.GetUtcNow();
        if (_view is not { } view || now - view.At > ViewAge || view.Nodes.IsFaulted)
        {
            view = (now, ReadAsync());
            _view = view;
        }

        return view.Nodes;
    }

    async Task<List<(int Free, int Total)>> ReadAsync() =>
        (await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).List())
            .Where(n => n.Total.ContainsKey(Gpu))
            .Select(n => (n.Free.GetValueOrDefault(Gpu), n.Total[Gpu]))
            .ToList();
}

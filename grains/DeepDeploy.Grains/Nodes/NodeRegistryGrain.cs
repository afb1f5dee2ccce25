using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Storage;
using DeepDeploy.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Nodes;

/// <summary>The capacity view placement reads. Node grains push their free GPUs here on every change; node agents
/// report here every few seconds, and a node whose lease runs out is lost: out of placement, its deployments told
/// (a few at a time, and none while most of the fleet looks lost at once: <see cref="NodeLeases"/>).
/// Reentrant: a thousand nodes' pushes change the state at once and share a write (<see cref="GroupCommit{T}"/>) instead
/// of queueing one whole-table write each. Safe because no method awaits between reading and changing the state: the
/// only awaits are the writes (and the lease check's, after its change).</summary>
[Reentrant]
public sealed class NodeRegistryGrain(
    [PersistentState("registry", StorageNames.Default)] IPersistentState<NodeRegistryState> state,
    DeepCopier<NodeRegistryState> copier,
    IClusterMembershipService membership,
    IGrainFactory grains,
    TimeProvider time,
    IOptions<NodeRegistryOptions> options,
    ControlPlaneMetrics metrics,
    ILogger<NodeRegistryGrain> log) : Grain, INodeRegistryGrain
{
    /// <summary>How often leases are checked: a lost node is noticed within its lease plus this.</summary>
    public static readonly TimeSpan LeaseCheck = TimeSpan.FromMilliseconds(500);

    readonly GroupCommit<NodeRegistryState> _store = new(state, copier);

    readonly PlacementHolds _holds = new(time);

    NodeLeases? _leases;

    /// <summary>A deployment told this many times in vain is left to its reminder and to cluster membership.</summary>
    const int MaxTells = 20;

    /// <summary>Deployments not yet told that a node was lost, with the failed attempts: told again at the next check.</summary>
    readonly Dictionary<(string DeployId, string Node, DateTimeOffset LastReport), int> _untold = [];

    /// <summary>When the next lease check should run: one that runs later extends every lease by its lateness.</summary>
    DateTimeOffset _checkDue;

    /// <summary>Since when most reporting nodes look lost at once (a suspected stall of our own); null: none.</summary>
    DateTimeOffset? _stallSince;

    NodeLeases Leases => _leases ??= new NodeLeases(time, options.Value);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _checkDue = time.GetUtcNow() + LeaseCheck;
        this.RegisterGrainTimer(CheckLeasesAsync, new GrainTimerCreationOptions(LeaseCheck, LeaseCheck) { Interleave = true });
        return Task.CompletedTask;
    }

    public Task Update(NodeCapacity capacity)
    {
        _holds.Pushed(_store.State.Nodes.GetValueOrDefault(capacity.Node), capacity);
        return _store.ChangeAsync(s => s.Nodes[capacity.Node] = capacity);
    }

    public Task Join(NodeCapacity capacity)
    {
        _holds.Pushed(_store.State.Nodes.GetValueOrDefault(capacity.Node), capacity);
        if (_store.State.Lost.ContainsKey(capacity.Node))
        {
            log.LogInformation("GPU node {Node} registered again after its lease expired", capacity.Node);
        }

        Leases.Forget(capacity.Node);
        return _store.ChangeAsync(s =>
        {
            s.Nodes[capacity.Node] = capacity;
            s.Lost.Remove(capacity.Node);
        });
    }

    public Task<bool> Report(string node, TimeSpan lease)
    {
        if (_store.State.Lost.ContainsKey(node))
        {
            return Task.FromResult(false);
        }

        Leases.Renew(node, lease);
        return Task.FromResult(true);
    }

    public Task<DateTimeOffset?> LastReport(string node) => Task.FromResult(LastReportOf(node));

    public Task<IReadOnlyList<string>> FindNodes(string gpuType, int numGpus, int instances, IReadOnlyDictionary<string, int> replicasOnNode, IReadOnlyList<string> avoid) =>
        Task.FromResult(_holds.Rank(Live(), gpuType, numGpus, replicasOnNode, avoid, instances));

    public Task<IReadOnlyList<NodeCapacity>> List() =>
        Task.FromResult<IReadOnlyList<NodeCapacity>>(Live().OrderBy(n => n.Node, StringComparer.Ordinal).ToArray());

    public Task<IReadOnlyList<RegisteredNode>> All() =>
        Task.FromResult<IReadOnlyList<RegisteredNode>>(_store.State.Nodes.Values.OrderBy(n => n.Node, StringComparer.Ordinal)
            .Select(n => new RegisteredNode(n, StateOf(n), LastReportOf(n.Node)))
            .ToArray());

    public Task<IReadOnlyList<string>> DeploymentsOn(IReadOnlyList<SiloAddress> silos) =>
        Task.FromResult<IReadOnlyList<string>>(_store.State.Nodes.Values
            .Where(n => n.Silo is not null && silos.Contains(n.Silo))
            .SelectMany(n => n.Deployments ?? [])
            .Distinct()
            .ToArray());

    /// <summary>Nodes whose silo the cluster does not hold dead and whose lease has not expired. A lost node leaves
    /// the view at once and comes back when its agent registers it again.</summary>
    IEnumerable<NodeCapacity> Live() => _store.State.Nodes.Values.Where(n => StateOf(n) == NodeState.Live);

    DateTimeOffset? LastReportOf(string node) =>
        Leases.LastReport(node) ?? (_store.State.Lost.TryGetValue(node, out var last) ? last : null);

    NodeState StateOf(NodeCapacity node) =>
        node.Silo is not null && membership.CurrentSnapshot.GetSiloStatus(node.Silo) == SiloStatus.Dead ? NodeState.SiloDown
        : _store.State.Lost.ContainsKey(node.Node) ? NodeState.Lost
        : NodeState.Live;

    async Task CheckLeasesAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ExpireLeasesAsync();
        }
        finally
        {
            // The timer's next tick is a period after this one ends.
            _checkDue = time.GetUtcNow() + LeaseCheck;
        }
    }

    async Task ExpireLeasesAsync()
    {
        var expired = Leases.TakeExpired(_checkDue);
        WatchStall(expired);
        var lost = new List<(string Node, DateTimeOffset LastReport)>();
        foreach (var (node, lastReport, lease) in expired.Lost)
        {
            if (!_store.State.Nodes.TryGetValue(node, out var capacity))
            {
                continue;
            }

            var deployments = capacity.Deployments ?? [];
            log.LogWarning("GPU node {Node} lost: no report for {Lease} (last at {LastReport:O}); its {Count} deployments place their instances elsewhere",
                node, lease, lastReport, deployments.Count);
            lost.Add((node, lastReport));
            foreach (var deployId in deployments)
            {
                _untold[(deployId, node, lastReport)] = 0;
            }
        }

        if (lost.Count > 0)
        {
            metrics.LeasesExpired(lost.Count);
            try
            {
                // Kept in memory even if this write fails (a lost node stays out of placement regardless): the next change writes it.
                await _store.ChangeAsync(s => lost.ForEach(l => s.Lost[l.Node] = l.LastReport), keep: true);
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Could not save the lost nodes {Nodes}", string.Join(", ", lost.Select(l => l.Node)));
            }
        }

        foreach (var (untold, attempts) in _untold.ToArray())
        {
            _untold.Remove(untold);
            // Not awaited: a deployment calls this grain while it places, so waiting here could deadlock.
            _ = TellAsync(untold, attempts);
        }
    }

    void WatchStall(ExpiredLeases expired)
    {
        if (expired.StallSuspected && _stallSince is null)
        {
            _stallSince = time.GetUtcNow();
            metrics.StallSuspected();
            log.LogWarning("The leases of {Count} GPU nodes ran out at once, more than {Share:P0} of the reporting nodes: suspected stall of the node registry's silo, not of the nodes; no lease expires until fewer run out (cluster membership still declares dead silos' nodes lost)",
                expired.Kept, options.Value.StallShare);
        }
        else if (!expired.StallSuspected && _stallSince is { } since)
        {
            _stallSince = null;
            log.LogWarning("Suspected stall of the node registry ended after {Duration}; leases expire again, at most {Share:P0} of the nodes per lease period",
                time.GetUtcNow() - since, options.Value.MaxExpiredShare);
        }

        if (!expired.StallSuspected && expired.Kept > 0)
        {
            log.LogInformation("{Kept} GPU nodes' leases ran out but are kept for now: at most {Share:P0} of the nodes lose their lease per lease period",
                expired.Kept, options.Value.MaxExpiredShare);
        }
    }

    async Task TellAsync((string DeployId, string Node, DateTimeOffset LastReport) lost, int attempts)
    {
        try
        {
            await grains.GetGrain<IDeploymentGrain>(lost.DeployId).NodeLost(lost.Node, lost.LastReport);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not tell deployment {DeployId} that node {Node} was lost (attempt {Attempt})", lost.DeployId, lost.Node, attempts + 1);
            if (attempts + 1 < MaxTells)
            {
                _untold[lost] = attempts + 1;
            }
        }
    }
}

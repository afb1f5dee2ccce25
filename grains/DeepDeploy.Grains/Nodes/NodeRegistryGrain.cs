using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Nodes;

/// <summary>The capacity view placement reads. Node grains push their free GPUs here on every change; node agents
/// report here every second, and a node whose lease runs out is lost: out of placement, its deployments told.
/// The view is soft state: a push changes memory only, and only the lost set is saved, so a join or a change costs the
/// same at 1,000 nodes as at one. A registry that comes up (first start, its silo died) asks each node grain for its
/// capacity: those on the live silos' records (<see cref="SiloNodesGrain"/>) at once, any other at its first report;
/// node grains keep their own GPUs in their saved state.</summary>
[KeepAlive]
public sealed class NodeRegistryGrain(
    [PersistentState("registry", StorageNames.Default)] IPersistentState<NodeRegistryState> state,
    DeepCopier<NodeRegistryState> copier,
    IClusterMembershipService membership,
    IGrainFactory grains,
    TimeProvider time,
    ILogger<NodeRegistryGrain> log) : Grain, INodeRegistryGrain
{
    /// <summary>How often leases are checked: a lost node is noticed within its lease plus this.</summary>
    public static readonly TimeSpan LeaseCheck = TimeSpan.FromMilliseconds(500);

    /// <summary>The most candidates one <see cref="FindNodes"/> returns: the placer tries them in order, and one taken
    /// meanwhile is rare, so a longer list would only be bytes on every placement.</summary>
    public const int MaxCandidates = 32;

    readonly SavedState<NodeRegistryState> _store = new(state, copier);

    readonly CapacityView _view = new(time);

    /// <summary>Nodes whose capacity came from the node itself (a push or an answer) since this activation; any other
    /// node's capacity is asked for at its next report.</summary>
    readonly HashSet<string> _current = new(StringComparer.Ordinal);

    readonly HashSet<string> _asking = new(StringComparer.Ordinal);

    NodeLeases? _leases;

    /// <summary>A deployment told this many times in vain is left to its reminder and to cluster membership.</summary>
    const int MaxTells = 20;

    /// <summary>Deployments not yet told that a node was lost, with the failed attempts: told again at the next check.</summary>
    readonly Dictionary<(string DeployId, string Node, DateTimeOffset LastReport), int> _untold = [];

    NodeLeases Leases => _leases ??= new NodeLeases(time);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Saved by the registry of before the soft view: a first view until each node's own capacity comes in.
        foreach (var capacity in _store.State.Nodes.Values)
        {
            _view.Set(capacity);
        }

        if (_view.Count > 0)
        {
            log.LogInformation("Node registry: took {Count} nodes' capacity from the saved view of the previous version; each is refreshed at its next report", _view.Count);
        }

        this.RegisterGrainTimer(CheckLeasesAsync, new GrainTimerCreationOptions(LeaseCheck, LeaseCheck));
        // Not awaited: placement may ask meanwhile, and finds the nodes as their answers come in.
        _ = RebuildAsync();
        return Task.CompletedTask;
    }

    public Task Update(NodeCapacity capacity)
    {
        _view.Set(capacity);
        _current.Add(capacity.Node);
        return Task.CompletedTask;
    }

    public async Task Join(NodeCapacity capacity)
    {
        _view.Set(capacity);
        _current.Add(capacity.Node);
        Leases.Forget(capacity.Node);
        if (_store.State.Lost.Remove(capacity.Node))
        {
            log.LogInformation("GPU node {Node} registered again after its lease expired", capacity.Node);
            await SaveAsync();
        }
    }

    public Task<bool> Report(string node, TimeSpan lease)
    {
        if (_store.State.Lost.ContainsKey(node))
        {
            return Task.FromResult(false);
        }

        Leases.Renew(node, lease);
        if (!_current.Contains(node) && _asking.Add(node))
        {
            // Not awaited: the node grain calls this grain while it changes.
            _ = AskCapacityAsync(node);
        }

        return Task.FromResult(true);
    }

    public Task<DateTimeOffset?> LastReport(string node) => Task.FromResult(LastReportOf(node));

    public Task<IReadOnlyList<string>> FindNodes(string gpuType, int numGpus, IReadOnlyDictionary<string, int> replicasOnNode, IReadOnlyList<string> avoid)
    {
        var nodes = _view.Rank(gpuType, numGpus, replicasOnNode, avoid, n => StateOf(n) == NodeState.Live, MaxCandidates);
        if (nodes.Count > 0)
        {
            // The caller starts its instance on the first: the next caller is ranked without those GPUs.
            _view.Hold(nodes[0], gpuType, numGpus);
        }

        return Task.FromResult(nodes);
    }

    public Task<IReadOnlyList<NodeCapacity>> List() =>
        Task.FromResult<IReadOnlyList<NodeCapacity>>(Live().OrderBy(n => n.Node, StringComparer.Ordinal).ToArray());

    public Task<IReadOnlyList<RegisteredNode>> All() =>
        Task.FromResult<IReadOnlyList<RegisteredNode>>(_view.Nodes.OrderBy(n => n.Node, StringComparer.Ordinal)
            .Select(n => new RegisteredNode(n, StateOf(n), LastReportOf(n.Node)))
            .ToArray());

    /// <summary>Nodes whose silo the cluster does not hold dead and whose lease has not expired. A lost node leaves
    /// the view at once and comes back when its agent registers it again.</summary>
    IEnumerable<NodeCapacity> Live() => _view.Nodes.Where(n => StateOf(n) == NodeState.Live);

    DateTimeOffset? LastReportOf(string node) =>
        Leases.LastReport(node) ?? (_store.State.Lost.TryGetValue(node, out var last) ? last : null);

    NodeState StateOf(NodeCapacity node) =>
        node.Silo is not null && membership.CurrentSnapshot.GetSiloStatus(node.Silo) == SiloStatus.Dead ? NodeState.SiloDown
        : _store.State.Lost.ContainsKey(node.Node) ? NodeState.Lost
        : NodeState.Live;

    async Task CheckLeasesAsync(CancellationToken cancellationToken)
    {
        var wasDisrupted = Leases.Disrupted;
        var expired = Leases.TakeExpired();
        if (Leases.Disrupted != wasDisrupted)
        {
            if (Leases.Disrupted)
            {
                log.LogWarning("Most node leases ran out at once: the registry suspects itself (a starved silo, a partition) and declares no node lost until most report again");
            }
            else
            {
                log.LogInformation("Most nodes report again: expired node leases count again");
            }
        }

        foreach (var (node, lastReport, lease) in expired)
        {
            if (!_view.TryGet(node, out var capacity))
            {
                continue;
            }

            var deployments = capacity.Deployments ?? [];
            log.LogWarning("GPU node {Node} lost: no report for {Lease} (last at {LastReport:O}); its {Count} deployments place their instances elsewhere",
                node, lease, lastReport, deployments.Count);
            _store.State.Lost[node] = lastReport;
            foreach (var deployId in deployments)
            {
                _untold[(deployId, node, lastReport)] = 0;
            }
        }

        if (expired.Count > 0)
        {
            // Held in memory even if this write fails: the next change writes it.
            try
            {
                await SaveAsync();
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Could not save the lost nodes {Nodes}", string.Join(", ", expired.Select(e => e.Node)));
                // A failed write puts the stored state back; a lost node stays out of placement regardless.
                foreach (var (node, lastReport, _) in expired.Where(e => _view.TryGet(e.Node, out _)))
                {
                    _store.State.Lost[node] = lastReport;
                }
            }
        }

        foreach (var (untold, attempts) in _untold.ToArray())
        {
            _untold.Remove(untold);
            // Not awaited: a deployment calls this grain while it places, so waiting here could deadlock.
            _ = TellAsync(untold, attempts);
        }
    }

    /// <summary>Asks every node on the live silos' records for its capacity, so that the view is whole again without
    /// waiting for each node's report (an agent may report late, or, simulated, not at all).</summary>
    async Task RebuildAsync()
    {
        var silos = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToArray();
        var records = await Task.WhenAll(silos.Select(async silo =>
        {
            try
            {
                return await grains.GetGrain<ISiloNodesGrain>(ISiloNodesGrain.KeyOf(silo)).Nodes();
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Could not read the nodes of silo {Silo}; each is asked for its capacity at its next report", silo);
                return [];
            }
        }));
        var nodes = records.SelectMany(r => r).Where(n => !_current.Contains(n) && _asking.Add(n)).ToArray();
        await Task.WhenAll(nodes.Select(AskCapacityAsync));
        log.LogInformation("Node registry: asked {Count} nodes for their capacity, found on the records of {Silos} live silos", nodes.Length, silos.Length);
    }

    /// <summary>Takes a node's capacity from its grain, unless the node pushed one meanwhile (that one is newer: a node
    /// grain answers only after its pushes in flight returned).</summary>
    async Task AskCapacityAsync(string node)
    {
        try
        {
            if (await grains.GetGrain<IGpuNodeGrain>(node).GetCapacity() is { } capacity && _current.Add(node))
            {
                _view.Set(capacity);
            }
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not ask GPU node {Node} for its capacity; asked again at its next report", node);
        }
        finally
        {
            _asking.Remove(node);
        }
    }

    /// <summary>Saves the lost set; the old form's capacity view is dropped from storage with the first save.</summary>
    Task SaveAsync()
    {
        _store.State.Nodes.Clear();
        return _store.WriteAsync();
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

using Orleans.Concurrency;

namespace DeepDeploy.Contracts.Nodes;

/// <summary>The cluster's capacity view (one grain, key <see cref="Key"/>): free GPUs per node and type,
/// kept current by the node grains.</summary>
public interface INodeRegistryGrain : IGrainWithStringKey
{
    const string Key = "cluster";

    /// <summary>A node's capacity changed. Returns once saved; concurrent pushes share one write (the registry is
    /// reentrant and commits its state in groups).</summary>
    Task Update(NodeCapacity capacity);

    /// <summary>A node (re)registered by its agent: it is live again, whatever its lease said before.</summary>
    Task Join(NodeCapacity capacity);

    /// <summary>The node agent's heartbeat: renews the node's lease for <paramref name="lease"/>. False when the lease
    /// already expired: the node's instances were replaced, so it must stop its engines and register again.
    /// Interleaves (it only touches the in-memory leases, without awaiting): a thousand nodes' heartbeats never wait
    /// behind a capacity write.</summary>
    [AlwaysInterleave]
    Task<bool> Report(string node, TimeSpan lease);

    /// <summary>When the node last reported in this registry's memory (null: not since the registry activated).</summary>
    Task<DateTimeOffset?> LastReport(string node);

    /// <summary>Live nodes that can hold an instance of <paramref name="numGpus"/> GPUs of <paramref name="gpuType"/>,
    /// best first (see PlacementPolicy): spread over <paramref name="replicasOnNode"/>, away from
    /// <paramref name="avoid"/>, best fit. For each of <paramref name="instances"/> (given round the candidates, as the
    /// caller places them) the candidate's GPUs are held for the caller for a moment (until the node's push shows them
    /// taken, at most PlacementHolds.HoldFor), so concurrent callers get different candidates.
    /// Interleaves (it awaits nothing): placement never waits behind a capacity write; a capacity not yet saved may be
    /// read, and the node grain's reservation stays the arbiter.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> FindNodes(string gpuType, int numGpus, int instances, IReadOnlyDictionary<string, int> replicasOnNode, IReadOnlyList<string> avoid);

    Task<IReadOnlyList<NodeCapacity>> List();

    /// <summary>Every registered node, live or not, with its state and last report: the operator's view.</summary>
    Task<IReadOnlyList<RegisteredNode>> All();

    /// <summary>Deployments that had instances on the nodes of the given (lost) silos.</summary>
    Task<IReadOnlyList<string>> DeploymentsOn(IReadOnlyList<SiloAddress> silos);
}

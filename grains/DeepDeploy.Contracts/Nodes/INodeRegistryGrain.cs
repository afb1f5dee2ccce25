using Orleans.Concurrency;

namespace DeepDeploy.Contracts.Nodes;

/// <summary>The cluster's capacity view (one grain, key <see cref="Key"/>): free GPUs per node and type,
/// kept current by the node grains. The view is held in memory (only lost nodes are saved): a registry that comes up
/// takes each node's capacity from its grain, finding the nodes on their silos' records (<see cref="ISiloNodesGrain"/>)
/// or at their next report.</summary>
public interface INodeRegistryGrain : IGrainWithStringKey
{
    const string Key = "cluster";

    /// <summary>A node grain's capacity changed. Interleaves (memory only, awaits nothing).</summary>
    [AlwaysInterleave]
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
    /// best first (see PlacementPolicy), at most 32 of them: spread over <paramref name="replicasOnNode"/>, away from
    /// <paramref name="avoid"/>, best fit. The first is held for the caller (its GPUs count as taken until the node's
    /// push shows them taken, or a few seconds pass), so concurrent callers are handed different nodes. Interleaves (it
    /// awaits nothing): placement never waits behind a capacity write; the node grain's reservation stays the arbiter.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> FindNodes(string gpuType, int numGpus, IReadOnlyDictionary<string, int> replicasOnNode, IReadOnlyList<string> avoid);

    Task<IReadOnlyList<NodeCapacity>> List();

    /// <summary>Every registered node, live or not, with its state and last report: the operator's view.</summary>
    Task<IReadOnlyList<RegisteredNode>> All();
}

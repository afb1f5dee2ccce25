namespace DeepDeploy.Contracts.Nodes;

/// <summary>The cluster's capacity view (one grain, key <see cref="Key"/>): free GPUs per node and type,
/// kept current by the node grains.</summary>
public interface INodeRegistryGrain : IGrainWithStringKey
{
    const string Key = "cluster";

    Task Update(NodeCapacity capacity);

    /// <summary>Nodes that can hold an instance of <paramref name="numGpus"/> GPUs of <paramref name="gpuType"/>,
    /// best fit first (fewest free GPUs left over).</summary>
    Task<IReadOnlyList<string>> FindNodes(string gpuType, int numGpus);

    Task<IReadOnlyList<NodeCapacity>> List();
}

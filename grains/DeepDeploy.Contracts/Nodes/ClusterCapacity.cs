namespace DeepDeploy.Contracts.Nodes;

/// <summary>What the cluster's nodes hold, per GPU type, from the registry's capacity view.</summary>
public sealed record ClusterCapacity(IReadOnlyList<NodeCapacity> Nodes)
{
    public static async Task<ClusterCapacity> LoadAsync(IGrainFactory grains) =>
        new(await grains.GetGrain<INodeRegistryGrain>(INodeRegistryGrain.Key).List());

    /// <summary>The most GPUs of a type that one node has: the largest instance that could ever run.</summary>
    public int LargestNode(string gpu) => Nodes.Select(n => n.Total.GetValueOrDefault(gpu)).DefaultIfEmpty(0).Max();

    public int Free(string gpu) => Nodes.Sum(n => n.Free.GetValueOrDefault(gpu));

    /// <summary>True when some node has <paramref name="numGpus"/> free GPUs of the type right now.</summary>
    public bool FitsNow(string gpu, int numGpus) => Nodes.Any(n => n.Free.GetValueOrDefault(gpu) >= numGpus);

    /// <summary>False for an instance larger than every node of its GPU type (all GPUs of an instance sit on
    /// one node). A type no node offers yet can hold anything: its instances wait until such a node joins.</summary>
    public bool CanHold(string gpu, int numGpus)
    {
        var largest = LargestNode(gpu);
        return largest == 0 || numGpus <= largest;
    }
}

using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Deployments;

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

    /// <summary>Refuses an instance larger than every node of its GPU type. A type no node offers yet is
    /// accepted: its instances stay pending until a node with such GPUs joins.</summary>
    public void EnsureCanHold(string gpu, int numGpus)
    {
        var largest = LargestNode(gpu);
        if (largest > 0 && numGpus > largest)
        {
            throw new BadRequestException("num_gpus",
                $"No node holds {numGpus} GPUs of type '{gpu}': all GPUs of an instance sit on one node, and the largest has {largest}.");
        }
    }
}

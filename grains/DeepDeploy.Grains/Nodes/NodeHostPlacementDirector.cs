using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace DeepDeploy.Grains.Nodes;

/// <summary>GpuNode grains start OS processes, so each must live on the silo of its own host.</summary>
public sealed class NodeHostPlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var node = target.GrainIdentity.Key.ToString();
        foreach (var silo in context.GetCompatibleSilos(target))
        {
            if (metadata.GetSiloMetadata(silo).Metadata.TryGetValue(NodeHostPlacementStrategy.MetadataKey, out var hosted) && hosted == node)
            {
                return Task.FromResult(silo);
            }
        }

        throw new OrleansException($"No silo hosts GPU node '{node}'.");
    }
}

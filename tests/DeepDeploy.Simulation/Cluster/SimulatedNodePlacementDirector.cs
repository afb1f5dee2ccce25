using DeepDeploy.Grains.Nodes;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace DeepDeploy.Tests.Cluster;

/// <summary>
/// TEST DOUBLE of <see cref="NodeHostPlacementDirector"/> for silos that host many simulated nodes
/// (<see cref="SimulatedNodeHost"/>): a silo's metadata names a prefix, and node "&lt;prefix&gt;-n&lt;i&gt;" lives there.
/// </summary>
public sealed class SimulatedNodePlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public const string Separator = "-n";

    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var node = target.GrainIdentity.Key.ToString()!;
        foreach (var silo in context.GetCompatibleSilos(target))
        {
            if (metadata.GetSiloMetadata(silo).Metadata.TryGetValue(NodeHostPlacementStrategy.MetadataKey, out var prefix)
                && node.StartsWith(prefix + Separator, StringComparison.Ordinal))
            {
                return Task.FromResult(silo);
            }
        }

        throw new OrleansException($"No silo hosts simulated GPU node '{node}'.");
    }
}

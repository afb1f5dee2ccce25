using Orleans.Runtime.Placement;

namespace DeepDeploy.Tests.Scale;

/// <summary>
/// TEST DOUBLE for the GPU-node placement director: a simulated node has no silo of its own here, so its grain goes to
/// a silo chosen by the node's name (stable while the silos stay). Everything else about the node grain is the
/// production code.
/// </summary>
public sealed class ScaleNodePlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target).OrderBy(s => s.ToString(), StringComparer.Ordinal).ToArray();
        var key = target.GrainIdentity.Key.ToString()!;
        return Task.FromResult(silos[(int)((uint)StringComparer.Ordinal.GetHashCode(key) % (uint)silos.Length)]);
    }
}

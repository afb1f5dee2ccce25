using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Contracts.Routing;

/// <summary>What every gateway keeps in memory to route to one deployment: its name, status, batch limit and
/// serving instances. <see cref="Version"/> is assigned by the route directory (its change sequence number).</summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentRoute(
    [property: Id(0)] string DeployId,
    [property: Id(1)] string Model,
    [property: Id(2)] DeploymentStatus Status,
    [property: Id(3)] int MaxBatchSize,
    [property: Id(4)] int MinInstances,
    [property: Id(5)] IReadOnlyList<RouteInstance> Instances,
    [property: Id(6)] long Version = 0)
{
    /// <summary>Same content, ignoring <see cref="Version"/>.</summary>
    public bool SameContent(DeploymentRoute other) =>
        DeployId == other.DeployId && Model == other.Model && Status == other.Status && MaxBatchSize == other.MaxBatchSize
        && MinInstances == other.MinInstances && Instances.SequenceEqual(other.Instances);
}

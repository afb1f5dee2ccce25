namespace DeepDeploy.Contracts.Routing;

/// <summary>
/// What the route directory sends a gateway: either a full snapshot (<see cref="IsSnapshot"/>, the answer to
/// <see cref="IRouteDirectoryGrain.Subscribe"/>) or a change pushed to its <see cref="IRouteObserver"/>.
/// <see cref="Seq"/> is the directory's change counter after this update and <see cref="Epoch"/> names the
/// directory's history (a new epoch means: forget everything older). <see cref="Gateways"/> lists the live
/// gateways when it changed (always in a snapshot), for sharing instance slots among them.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RouteTableUpdate(
    [property: Id(0)] Guid Epoch,
    [property: Id(1)] long Seq,
    [property: Id(2)] bool IsSnapshot,
    [property: Id(3)] IReadOnlyList<DeploymentRoute> Routes,
    [property: Id(4)] IReadOnlyList<string> Removed,
    [property: Id(5)] IReadOnlyList<string>? Gateways);

namespace DeepDeploy.Contracts.Routing;

/// <summary>
/// What the route directory sends a gateway: either a full snapshot (<see cref="IsSnapshot"/>, the answer to
/// <see cref="IRouteDirectoryGrain.Subscribe"/>) or a change pushed to its <see cref="IRouteObserver"/>.
/// <see cref="Seq"/> is the directory's change counter after this update and <see cref="Epoch"/> names the
/// directory's history (a new epoch means: forget everything older). <see cref="Gateways"/> lists the live
/// gateways when it changed (always in a snapshot), for sharing instance slots among them. Epoch and sequence
/// numbers are those of one directory shard (<see cref="Shard"/> of <see cref="Shards"/>, see <see cref="RouteShards"/>):
/// a snapshot lists only its shard's routes.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RouteTableUpdate(
    [property: Id(0)] Guid Epoch,
    [property: Id(1)] long Seq,
    [property: Id(2)] bool IsSnapshot,
    [property: Id(3)] IReadOnlyList<DeploymentRoute> Routes,
    [property: Id(4)] IReadOnlyList<string> Removed,
    [property: Id(5)] IReadOnlyList<string>? Gateways,
    [property: Id(6)] int Shard = 0,
    [property: Id(7)] int Shards = 1);

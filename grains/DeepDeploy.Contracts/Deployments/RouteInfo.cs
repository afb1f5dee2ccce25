namespace DeepDeploy.Contracts.Deployments;

/// <summary>What the gateway needs to route to a deployment: its running engines and their batch limit.</summary>
[GenerateSerializer, Immutable]
public sealed record RouteInfo(
    [property: Id(0)] string DeployId,
    [property: Id(1)] DeploymentStatus Status,
    [property: Id(2)] int MaxBatchSize,
    [property: Id(3)] IReadOnlyList<string> Endpoints);

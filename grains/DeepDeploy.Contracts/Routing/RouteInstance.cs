namespace DeepDeploy.Contracts.Routing;

/// <summary>One serving engine instance: its id and base URL (http://host:port).</summary>
[GenerateSerializer, Immutable]
public sealed record RouteInstance(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string Endpoint);

namespace DeepDeploy.Contracts.Deployments;

/// <summary>A node's report about one instance. <see cref="Endpoint"/> is set once the engine serves.</summary>
[GenerateSerializer, Immutable]
public sealed record InstanceUpdate(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] InstancePhase Phase,
    [property: Id(2)] string? Endpoint,
    [property: Id(3)] string? Message);

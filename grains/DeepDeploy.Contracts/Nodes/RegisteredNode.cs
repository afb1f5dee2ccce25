namespace DeepDeploy.Contracts.Nodes;

/// <summary>One node as the registry knows it, whatever its state: the operator's view, not placement's.</summary>
[GenerateSerializer, Immutable]
public sealed record RegisteredNode(
    [property: Id(0)] NodeCapacity Capacity,
    [property: Id(1)] NodeState State,
    [property: Id(2)] DateTimeOffset? LastReport);

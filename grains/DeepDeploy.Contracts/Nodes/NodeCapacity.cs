namespace DeepDeploy.Contracts.Nodes;

/// <summary>A node's GPUs by type: how many exist and how many are free. The placement view. <see cref="Deployments"/>
/// have instances on the node: they are woken when the node is lost. <see cref="Engines"/> are those the node advertised.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeCapacity(
    [property: Id(0)] string Node,
    [property: Id(1)] bool Simulated,
    [property: Id(2)] IReadOnlyDictionary<string, int> Total,
    [property: Id(3)] IReadOnlyDictionary<string, int> Free,
    [property: Id(4)] SiloAddress? Silo,
    [property: Id(5)] IReadOnlyList<string>? Deployments = null,
    [property: Id(6)] IReadOnlyList<NodeEngine>? Engines = null);

namespace DeepDeploy.Contracts.Nodes;

/// <summary>A GPU host as its node agent describes it at start. <see cref="Engines"/>: null from a node that does not
/// advertise them (its extra_args are then checked only at launch).</summary>
[GenerateSerializer, Immutable]
public sealed record NodeInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] bool Simulated,
    [property: Id(2)] IReadOnlyList<GpuDevice> Gpus,
    [property: Id(3)] IReadOnlyList<NodeEngine>? Engines = null);

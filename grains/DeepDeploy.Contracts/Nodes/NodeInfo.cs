namespace DeepDeploy.Contracts.Nodes;

/// <summary>A GPU host as its node agent describes it at start.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] bool Simulated,
    [property: Id(2)] IReadOnlyList<GpuDevice> Gpus);

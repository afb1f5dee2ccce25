namespace DeepDeploy.Contracts.Nodes;

/// <summary>A registered node for the operator: its state and, per GPU index, the holder. <see cref="Gpus"/> is null
/// when the node's grain could not be asked (silo down, or no answer within the bound): <see cref="Unreachable"/> says why.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeOverview(
    [property: Id(0)] string Node,
    [property: Id(1)] bool Simulated,
    [property: Id(2)] NodeState State,
    [property: Id(3)] DateTimeOffset? LastReport,
    [property: Id(4)] IReadOnlyDictionary<string, int> Total,
    [property: Id(5)] IReadOnlyDictionary<string, int> Free,
    [property: Id(6)] IReadOnlyList<GpuHolding>? Gpus,
    [property: Id(7)] string? Unreachable);

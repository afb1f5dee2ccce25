namespace DeepDeploy.Contracts.Nodes;

/// <summary>One GPU of a host: its index on the host (for CUDA_VISIBLE_DEVICES), catalogue type and memory.</summary>
[GenerateSerializer, Immutable]
public sealed record GpuDevice(
    [property: Id(0)] int Index,
    [property: Id(1)] string Type,
    [property: Id(2)] long MemoryMiB);

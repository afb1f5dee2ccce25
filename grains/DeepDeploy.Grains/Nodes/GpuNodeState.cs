using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

[GenerateSerializer]
public sealed class GpuNodeState
{
    [Id(0)] public NodeInfo? Info { get; set; }
    [Id(1)] public Dictionary<string, NodeAllocation> Allocations { get; set; } = [];
}

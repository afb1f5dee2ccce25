using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

[GenerateSerializer]
public sealed class NodeRegistryState
{
    [Id(0)] public Dictionary<string, NodeCapacity> Nodes { get; set; } = [];
}

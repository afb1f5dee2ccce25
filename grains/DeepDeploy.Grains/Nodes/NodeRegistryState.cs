using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

[GenerateSerializer]
public sealed class NodeRegistryState
{
    [Id(0)] public Dictionary<string, NodeCapacity> Nodes { get; set; } = [];

    /// <summary>Nodes whose lease expired, with their last report; out of placement until their agent registers again.</summary>
    [Id(1)] public Dictionary<string, DateTimeOffset> Lost { get; set; } = [];
}

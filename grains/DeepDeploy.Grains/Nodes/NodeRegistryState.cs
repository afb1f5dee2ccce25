using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>What the registry saves: only what must outlive it. Capacity is soft state, rebuilt from the nodes
/// (see <see cref="NodeRegistryGrain"/>), so a node's join or change writes nothing that grows with the fleet.</summary>
[GenerateSerializer]
public sealed class NodeRegistryState
{
    /// <summary>The capacity view as saved before it became soft state: read once on activation as a first view,
    /// never written again (the next save empties it).</summary>
    [Id(0)] public Dictionary<string, NodeCapacity> Nodes { get; set; } = [];

    /// <summary>Nodes whose lease expired, with their last report; out of placement until their agent registers again.</summary>
    [Id(1)] public Dictionary<string, DateTimeOffset> Lost { get; set; } = [];
}

namespace DeepDeploy.Grains.Nodes;

/// <summary>Places a grain keyed by a node name on the silo whose metadata names that node.</summary>
[GenerateSerializer, Immutable]
public sealed class NodeHostPlacementStrategy : PlacementStrategy
{
    /// <summary>The silo metadata key that names the GPU node a silo hosts.</summary>
    public const string MetadataKey = "deepdeploy.node";
}

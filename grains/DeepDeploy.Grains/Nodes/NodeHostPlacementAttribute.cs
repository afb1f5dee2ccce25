using Orleans.Placement;

namespace DeepDeploy.Grains.Nodes;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class NodeHostPlacementAttribute() : PlacementAttribute(new NodeHostPlacementStrategy());

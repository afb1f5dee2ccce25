namespace DeepDeploy.Grains.Nodes;

[GenerateSerializer]
public sealed class SiloNodesState
{
    /// <summary>Per node of the silo, the deployments with instances on it (ordinal order).</summary>
    [Id(0)] public Dictionary<string, string[]> Deployments { get; set; } = [];
}

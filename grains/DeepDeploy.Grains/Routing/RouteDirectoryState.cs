using DeepDeploy.Contracts.Routing;

namespace DeepDeploy.Grains.Routing;

[GenerateSerializer]
public sealed class RouteDirectoryState
{
    [Id(0)] public Guid Epoch { get; set; }
    [Id(1)] public long Seq { get; set; }
    [Id(2)] public Dictionary<string, DeploymentRoute> Routes { get; set; } = [];
}

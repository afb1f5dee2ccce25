using DeepDeploy.Grains.Nodes;
using DeepDeploy.Node.Engines;
using DeepDeploy.Node.Telemetry;
using DeepDeploy.Node.Weights;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DeepDeploy.Node;

public static class NodeSiloExtensions
{
    public const string Section = "DeepDeploy:Node";

    /// <summary>The settings of the node a host runs (section <see cref="Section"/>).</summary>
    public static NodeOptions ReadNodeOptions(this IConfiguration configuration) =>
        configuration.GetSection(Section).Get<NodeOptions>() ?? new NodeOptions();

    /// <summary>Makes the silo this host's GPU node: the node agent (GPU discovery and registration at start,
    /// engine processes) and the weights cache under <paramref name="dataDirectory"/>.</summary>
    public static ISiloBuilder AddDeepDeployNode(this ISiloBuilder silo, string dataDirectory)
    {
        var services = silo.Services;
        services.AddHttpClient();
        services.Configure<NodeOptions>(silo.Configuration.GetSection(Section));
        var options = silo.Configuration.ReadNodeOptions();
        services.AddSingleton(new NodePaths(dataDirectory, options.Name, NodePaths.NodesDirectoryFor(dataDirectory, options)));
        services.AddSingleton<IDiskSpace, VolumeDiskSpace>();
        services.AddSingleton<WeightsCache>();
        services.AddMetrics();
        services.AddSingleton<NodeMetrics>();
        services.AddSingleton<EngineLogPublisher>();
        services.AddSingleton<NodeAgent>();
        services.AddSingleton<INodeAgent>(sp => sp.GetRequiredService<NodeAgent>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<NodeAgent>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, NodeHeartbeat>();
        return silo;
    }
}

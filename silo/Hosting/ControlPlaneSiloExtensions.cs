using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Grains.Deployments;
using DeepDeploy.Grains.Nodes;
using DeepDeploy.Grains.Telemetry;
using DeepDeploy.Node.Weights;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace DeepDeploy.Silo.Hosting;

public static class ControlPlaneSiloExtensions
{
    public const string PricesSection = "DeepDeploy:Prices";

    /// <summary>
    /// What every silo needs to host the grains: GPU prices, autoscaler settings, the weights resolver (the hub of
    /// HF_ENDPOINT, or the local one), and the placement of GpuNode grains on the silo of their node, which reads
    /// <paramref name="hostedNode"/> from this silo's metadata (null: this silo hosts no node). A test double of
    /// <see cref="IWeightsResolver"/> registered before this call stays.
    /// </summary>
    public static ISiloBuilder AddDeepDeployControlPlane(this ISiloBuilder silo, string? hostedNode = null)
    {
        var configuration = silo.Configuration;
        var services = silo.Services;
        services.AddHttpClient();
        services.AddDeepDeployControlPlaneMetrics();
        services.Configure<GpuPrices>(configuration.GetSection(PricesSection));
        services.AddOptions<AutoscalerOptions>().Bind(configuration.GetSection("DeepDeploy:Autoscaler"))
            .Validate(o => ScalingPolicies.IsKnown(o.Policy), $"DeepDeploy:Autoscaler:Policy names one of: {ScalingPolicies.Utilization}, {ScalingPolicies.Slo}.").ValidateOnStart();
        services.Configure<DeploymentOptions>(configuration.GetSection("DeepDeploy:Deployments"));
        services.AddOptions<NodeRegistryOptions>().Bind(configuration.GetSection("DeepDeploy:NodeRegistry"))
            .Validate(o => o.MaxExpiredShare is > 0 and <= 1 && o.StallShare is > 0 and <= 1 && o.StallMinNodes >= 1,
                "DeepDeploy:NodeRegistry: MaxExpiredShare and StallShare lie in (0, 1], StallMinNodes is at least 1.").ValidateOnStart();

        services.AddHubWeights(configuration, DeepDeployOptions.Read(configuration).HfEndpoint);
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, LostNodeWaker>();

        silo.UseSiloMetadata(hostedNode is null
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { [NodeHostPlacementStrategy.MetadataKey] = hostedNode });
        silo.AddPlacementDirector<NodeHostPlacementStrategy, NodeHostPlacementDirector>();
        silo.AddDeepDeployEventStreams();
        return silo;
    }
}

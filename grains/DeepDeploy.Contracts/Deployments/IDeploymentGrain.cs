namespace DeepDeploy.Contracts.Deployments;

/// <summary>One deployment, keyed by its deploy id: spec, status and instances; reconciles running
/// instances towards the desired count.</summary>
public interface IDeploymentGrain : IGrainWithStringKey
{
    Task<DeploymentView> Create(DeploymentSpec spec);

    Task<DeploymentView?> Get();

    /// <summary>Stops every instance and marks the deployment deleted. False when it was already deleted or never existed.</summary>
    Task<bool> Delete();

    Task<RouteInfo?> GetRoute();

    /// <summary>A node's report about one of this deployment's instances.</summary>
    Task OnInstanceUpdate(InstanceUpdate update);

    /// <summary>Activates the grain so that it reconciles (used at silo start).</summary>
    Task Wake();
}

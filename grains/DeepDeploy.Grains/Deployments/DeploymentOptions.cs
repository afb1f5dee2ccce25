namespace DeepDeploy.Grains.Deployments;

/// <summary>Deployment rules an operator may tune (section DeepDeploy:Deployments).</summary>
public sealed class DeploymentOptions
{
    /// <summary>A deployment whose instance no live node can ever hold (no node of its GPU type, or none with enough
    /// of them) fails after this long. Waiting for GPUs that exist but are busy is not counted.</summary>
    public TimeSpan UnplaceableTimeout { get; set; } = TimeSpan.FromMinutes(10);
}

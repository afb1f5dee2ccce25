namespace DeepDeploy.Contracts.Deployments;

/// <summary>DeepInfra's deployment statuses; the API writes them in lower case.</summary>
public enum DeploymentStatus
{
    Initializing,
    Downloading,
    Deploying,
    Running,
    Stopped,
    Failed,
    Deleted,
}

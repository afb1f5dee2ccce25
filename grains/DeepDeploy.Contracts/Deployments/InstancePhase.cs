namespace DeepDeploy.Contracts.Deployments;

/// <summary>Life of one engine instance, as its node reports it.</summary>
public enum InstancePhase
{
    Placed,
    Downloading,
    Starting,
    Running,
    Exited,
    Failed,
}

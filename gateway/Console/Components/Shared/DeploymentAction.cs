namespace DeepDeploy.Gateway.WebConsole.Components.Shared;

/// <summary>What a deployment's buttons ask of the API.</summary>
public enum DeploymentAction
{
    Start,
    Stop,
    Delete,
}

namespace DeepDeploy.Gateway.Deployments;

/// <summary>The instance bounds a deployment keeps; the one part a <c>PUT</c> may change.</summary>
public sealed record DeploySettings(int MinInstances, int MaxInstances);

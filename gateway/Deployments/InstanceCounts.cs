namespace DeepDeploy.Gateway.Deployments;

/// <summary>How many instances of a deployment run, and how many are on their way.</summary>
public sealed record InstanceCounts(int Running, int Pending);

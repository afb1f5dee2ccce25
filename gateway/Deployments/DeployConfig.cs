namespace DeepDeploy.Gateway.Deployments;

/// <summary>What a deployment runs on and serves; fixed at creation.</summary>
public sealed record DeployConfig(string Gpu, int NumGpus, int MaxBatchSize, Weights Weights);

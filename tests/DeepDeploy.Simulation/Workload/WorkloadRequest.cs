namespace DeepDeploy.Simulation.Workload;

/// <summary>One inference request of a workload: when (simulated seconds from the start), to which model
/// ("user/model_name"), and its size in tokens.</summary>
public sealed record WorkloadRequest(double At, string Model, int PromptTokens, int OutputTokens);

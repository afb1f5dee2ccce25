namespace DeepDeploy.Gateway.Deployments;

/// <summary>How many instances of a deployment run, how many are on their way, and why some wanted ones are not
/// placed yet ("running N of wanted M: waiting for free GPUs…"; null when none wait).</summary>
public sealed record InstanceCounts(int Running, int Pending, string? PendingReason = null);

namespace DeepDeploy.Grains.Telemetry;

/// <summary>One deployment's instance counts by status, as its activation last wrote them (replaced whole, never mutated).</summary>
public sealed record DeploymentInstances(string Model, IReadOnlyList<KeyValuePair<string, int>> ByStatus);

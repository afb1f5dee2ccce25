namespace DeepDeploy.Grains.Deployments;

/// <summary>The policies <see cref="AutoscalerOptions.Policy"/> may name (case-insensitive).</summary>
public static class ScalingPolicies
{
    public const string Utilization = "Utilization";
    public const string Slo = "Slo";

    public static bool IsKnown(string? name) => Is(name, Utilization) || Is(name, Slo);

    public static IScalingPolicy Create(AutoscalerOptions options) =>
        Is(options.Policy, Slo) ? new SloPolicy(options.Slo)
        : Is(options.Policy, Utilization) ? new UtilizationPolicy(options)
        : throw new InvalidOperationException($"DeepDeploy:Autoscaler:Policy '{options.Policy}' is not one of {Utilization}, {Slo}");

    static bool Is(string? name, string policy) => string.Equals(name, policy, StringComparison.OrdinalIgnoreCase);
}

namespace DeepDeploy.Contracts.Deployments;

/// <summary>The GPU types a deployment may ask for (DeepInfra's catalogue names).</summary>
public static class GpuCatalog
{
    public static readonly IReadOnlyList<string> Types =
        ["A100-80GB", "H100-80GB", "L4-24GB", "L40S-48GB", "H200-141GB", "B200-180GB"];

    public static bool IsKnown(string type) => Types.Contains(type, StringComparer.Ordinal);
}

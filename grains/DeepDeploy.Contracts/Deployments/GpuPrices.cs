namespace DeepDeploy.Contracts.Deployments;

/// <summary>Price per GPU-hour by GPU type, in USD. The defaults follow DeepInfra's public example (2 USD
/// per A100 GPU-hour); operators override them in configuration (DeepDeploy:Prices:&lt;type&gt;).</summary>
public sealed class GpuPrices
{
    public static readonly IReadOnlyDictionary<string, decimal> Defaults = new Dictionary<string, decimal>
    {
        ["A100-80GB"] = 2.00m,
        ["H100-80GB"] = 3.00m,
        ["L4-24GB"] = 0.60m,
        ["L40S-48GB"] = 1.20m,
        ["H200-141GB"] = 3.50m,
        ["B200-180GB"] = 5.00m,
    };

    public Dictionary<string, decimal> PerGpuHour { get; set; } = new(Defaults);

    public decimal Of(string gpuType) => PerGpuHour.GetValueOrDefault(gpuType, Defaults.GetValueOrDefault(gpuType));
}

using System.Text.Json;

namespace DeepDeploy.Simulation.Engine;

/// <summary>
/// TEST DOUBLE for a GPU's speed: the simulated engine's latency model, per GPU type. Defaults are for a dense
/// 8B model in BF16 on one GPU; sources and derivation in docs/simulation.md ("Latency model"). Decode at batch 1
/// comes from published vLLM measurements (A100: ~75 tokens/s at concurrency 1 and 6.6× the throughput at 8; H100
/// about 2× A100) and scales by memory bandwidth for the other types; prefill is the data sheet's BF16 dense
/// FLOP/s at 50 % utilization over 2 × 8e9 FLOP per token. Overridable with a JSON file of the same shape.
/// </summary>
public sealed class LatencyModel
{
    public static readonly IReadOnlyDictionary<string, GpuProfile> Defaults = new Dictionary<string, GpuProfile>(StringComparer.Ordinal)
    {
        ["A100-80GB"] = new(10_000, 90, 0.03, 2.0, 20),
        ["H100-80GB"] = new(30_000, 150, 0.03, 3.0, 20),
        ["H200-141GB"] = new(30_000, 200, 0.03, 3.0, 20),
        ["B200-180GB"] = new(65_000, 300, 0.03, 4.0, 20),
        ["L40S-48GB"] = new(11_000, 45, 0.03, 1.5, 20),
        ["L4-24GB"] = new(3_500, 16, 0.03, 1.0, 20),
    };

    /// <summary>Profiles by GPU type.</summary>
    public Dictionary<string, GpuProfile> Gpus { get; init; } = new(Defaults, StringComparer.Ordinal);

    /// <summary>Weights size by Hugging Face repo; others weigh <see cref="DefaultWeightsGigabytes"/>.</summary>
    public Dictionary<string, double> WeightsGigabytes { get; init; } = new(StringComparer.Ordinal);

    /// <summary>An 8B model in BF16.</summary>
    public double DefaultWeightsGigabytes { get; init; } = 16;

    public GpuProfile For(string gpu) =>
        Gpus.TryGetValue(gpu, out var profile) ? profile : throw new ArgumentException($"no latency profile for GPU type '{gpu}'", nameof(gpu));

    public double WeightsOf(string repo) => WeightsGigabytes.GetValueOrDefault(repo, DefaultWeightsGigabytes);

    /// <summary>The defaults with the file's entries laid over them (same shape: gpus, weights_gigabytes, default_weights_gigabytes).</summary>
    public static LatencyModel Load(string? path)
    {
        if (path is null)
        {
            return new LatencyModel();
        }

        var file = JsonSerializer.Deserialize<LatencyModel>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path}: empty latency model");
        var gpus = new Dictionary<string, GpuProfile>(Defaults, StringComparer.Ordinal);
        foreach (var (gpu, profile) in file.Gpus)
        {
            gpus[gpu] = profile;
        }

        return new LatencyModel { Gpus = gpus, WeightsGigabytes = file.WeightsGigabytes, DefaultWeightsGigabytes = file.DefaultWeightsGigabytes };
    }

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };
}

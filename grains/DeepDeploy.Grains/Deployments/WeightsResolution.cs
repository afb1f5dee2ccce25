using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Deployments;

/// <summary>Either a commit and file to run (and its format), or an error a user can act on. A safetensors
/// resolution has no single file (<see cref="File"/> is empty): the engine takes the whole snapshot.</summary>
[GenerateSerializer, Immutable]
public sealed record WeightsResolution(
    [property: Id(0)] string? Commit,
    [property: Id(1)] string? File,
    [property: Id(2)] string? Error,
    [property: Id(3)] string Format = WeightsFormats.Gguf)
{
    public static WeightsResolution Resolved(string commit, string file) => new(commit, file, null);

    public static WeightsResolution Snapshot(string commit) => new(commit, "", null, WeightsFormats.Safetensors);

    public static WeightsResolution Failed(string error) => new(null, null, error);
}

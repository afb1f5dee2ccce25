namespace DeepDeploy.Grains.Deployments;

/// <summary>Either a commit and file to run, or an error a user can act on.</summary>
public sealed record WeightsResolution(string? Commit, string? File, string? Error)
{
    public static WeightsResolution Resolved(string commit, string file) => new(commit, file, null);

    public static WeightsResolution Failed(string error) => new(null, null, error);
}

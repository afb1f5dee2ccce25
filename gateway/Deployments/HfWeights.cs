using System.Text.RegularExpressions;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Deployments;

/// <summary>The <c>hf</c> object of <c>POST /deploy/llm</c>: the Hugging Face repo, an optional revision, and a token
/// for gated repos.</summary>
public sealed partial record HfWeights(string? Repo, string? Revision, string? Token)
{
    public void Validate()
    {
        if (Repo is null)
        {
            throw new BadRequestException("hf.repo", "'hf.repo' is required.", "missing_field");
        }

        if (!RepoPattern().IsMatch(Repo))
        {
            throw new BadRequestException("hf.repo", $"'hf.repo' must look like 'owner/name', got '{Repo}'.");
        }

        // ".." would step out of the revision in the hub's and the cache's paths.
        if (Revision is not null && (!RevisionPattern().IsMatch(Revision) || Revision.Contains("..", StringComparison.Ordinal)))
        {
            throw new BadRequestException("hf.revision", "'hf.revision' must be a branch, tag or commit name.");
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}\z")]
    private static partial Regex RepoPattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}\z")]
    private static partial Regex RevisionPattern();
}

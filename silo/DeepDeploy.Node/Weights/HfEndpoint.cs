namespace DeepDeploy.Node.Weights;

/// <summary>The Hugging Face endpoint (HF_ENDPOINT convention). Unset, it is this host's own local hub, whose
/// address is known only once the web server listens. <see cref="DefaultToken"/> is the operator's <c>HF_TOKEN</c>:
/// sent only for repos matching <see cref="TokenRepos"/>, so tenants cannot run what only the operator may read.</summary>
public sealed class HfEndpoint(string? configured)
{
    readonly TaskCompletionSource<string> _local = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsLocal => configured is null;

    /// <summary>The operator's token (HF_TOKEN); null: anonymous.</summary>
    public string? DefaultToken { get; init; }

    /// <summary>Repos <see cref="DefaultToken"/> may be sent for (<c>DeepDeploy:Node:HfTokenRepos</c>); empty: none.</summary>
    public RepoGlobs TokenRepos { get; init; } = RepoGlobs.None;

    public void SetLocal(string hub) => _local.TrySetResult(hub);

    public Task<string> GetAsync() => configured is null ? _local.Task : Task.FromResult(configured.TrimEnd('/'));

    /// <summary>A client of this endpoint; each call names its token (<see cref="TokenFor"/>).</summary>
    public async Task<HuggingFaceClient> CreateClientAsync(HttpClient http) => new(http, await GetAsync());

    /// <summary>The token for <paramref name="repo"/>: the deployment's own, else the operator's when the repo is on the
    /// allow-list, else none (anonymous).</summary>
    public string? TokenFor(string repo, string? deploymentToken) =>
        !string.IsNullOrWhiteSpace(deploymentToken) ? deploymentToken
            : DefaultToken is not null && TokenRepos.Matches(repo) ? DefaultToken
            : null;
}

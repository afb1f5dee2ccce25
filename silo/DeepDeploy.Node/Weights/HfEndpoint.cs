namespace DeepDeploy.Node.Weights;

/// <summary>The Hugging Face endpoint (HF_ENDPOINT convention). Unset, it is this host's own local hub, whose
/// address is known only once the web server listens. <see cref="DefaultToken"/> is <c>HF_TOKEN</c>: sent for
/// deployments that give no <c>hf.token</c> of their own.</summary>
public sealed class HfEndpoint(string? configured)
{
    readonly TaskCompletionSource<string> _local = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsLocal => configured is null;

    /// <summary>The operator's token (HF_TOKEN), used when a deployment has none; null: anonymous.</summary>
    public string? DefaultToken { get; init; }

    public void SetLocal(string hub) => _local.TrySetResult(hub);

    public Task<string> GetAsync() => configured is null ? _local.Task : Task.FromResult(configured.TrimEnd('/'));

    /// <summary>A client of this endpoint with the default token.</summary>
    public async Task<HuggingFaceClient> CreateClientAsync(HttpClient http) =>
        new(http, await GetAsync()) { DefaultToken = DefaultToken };
}

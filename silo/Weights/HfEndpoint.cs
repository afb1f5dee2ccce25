namespace DeepDeploy.Silo.Weights;

/// <summary>The Hugging Face endpoint (HF_ENDPOINT convention). Unset, it is this host's own local hub, whose
/// address is known only once the web server listens.</summary>
public sealed class HfEndpoint(string? configured)
{
    readonly TaskCompletionSource<string> _local = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsLocal => configured is null;

    public void SetLocal(string hub) => _local.TrySetResult(hub);

    public Task<string> GetAsync() => configured is null ? _local.Task : Task.FromResult(configured.TrimEnd('/'));
}

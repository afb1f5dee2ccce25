using DeepDeploy.Grains.Deployments;

namespace DeepDeploy.Tests.Cluster;

/// <summary>TEST DOUBLE for the Hugging Face Hub in grain-level cluster tests: every repo resolves to one
/// fixed commit and GGUF file (the real resolver is tested against the local hub stand-in elsewhere). With a
/// <see cref="Gate"/> it plays a slow hub: every resolution waits for the gate to open.</summary>
public sealed class FixedWeightsResolver : IWeightsResolver
{
    int _calls;

    public Task Gate { get; init; } = Task.CompletedTask;

    /// <summary>Resolutions asked for so far.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public async Task<WeightsResolution> ResolveAsync(string repo, string? revision, string? tokenProtected, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        await Gate.WaitAsync(cancellationToken);
        return WeightsResolution.Resolved(new string('a', 40), "model.gguf");
    }
}

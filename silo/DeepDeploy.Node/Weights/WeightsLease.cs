namespace DeepDeploy.Node.Weights;

/// <summary>Weights held in use by one instance: its revision is not evicted until disposed.</summary>
public sealed class WeightsLease(WeightsCache cache, string snapshotKey, string path) : IDisposable
{
    int _disposed;

    /// <summary>The GGUF file, or the snapshot folder.</summary>
    public string Path { get; internal set; } = path;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            cache.Release(snapshotKey);
        }
    }
}

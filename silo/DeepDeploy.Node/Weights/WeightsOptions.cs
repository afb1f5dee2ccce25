namespace DeepDeploy.Node.Weights;

/// <summary>Disk and hub-token settings of weights downloads (section DeepDeploy:Node, beside <see cref="NodeOptions"/>).
/// Read by the node's cache and by the control plane's resolver, which fails a deployment early when it can.</summary>
public sealed class WeightsOptions
{
    public const long GiB = 1L << 30;

    /// <summary>Largest download of one deployment's weights (the files it needs, as the hub reports their sizes).</summary>
    public long MaxWeightsBytes { get; set; } = 200 * GiB;

    /// <summary>Bytes a download must leave free on the cache's volume; null: 5 % of the volume, at least 2 GiB.
    /// Keeps the database that shares the disk (all-in-one host) from being the one that finds it full.</summary>
    public long? FreeSpaceReserveBytes { get; set; }

    /// <summary>Share of the volume's free space (plus what the cache already holds) that becomes the cache limit when
    /// <see cref="NodeOptions.CacheLimitBytes"/> is unset; measured when the node starts.</summary>
    public double DefaultCacheShare { get; set; } = 0.8;

    /// <summary>Repos the operator's <c>HF_TOKEN</c> may be sent for: globs separated by commas or spaces, <c>*</c> within
    /// one part (<c>myorg/*</c>, <c>myorg/llama-*</c>, <c>*/*</c> for all); case-insensitive. Empty: never sent.</summary>
    public string? HfTokenRepos { get; set; }

    /// <summary>The reserve for a volume of <paramref name="volumeBytes"/>.</summary>
    public long ReserveFor(long volumeBytes) => FreeSpaceReserveBytes ?? Math.Max(2 * GiB, volumeBytes / 20);
}

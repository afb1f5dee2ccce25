using System.Collections.Concurrent;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Silo.Nodes;
using Microsoft.AspNetCore.DataProtection;

namespace DeepDeploy.Silo.Weights;

/// <summary>The node's model files, by repo and commit (models/&lt;owner&gt;--&lt;name&gt;/&lt;commit&gt;/&lt;file&gt;).
/// A file is downloaded once, however many instances ask for it at the same time.</summary>
public sealed class WeightsCache(NodePaths paths, HfEndpoint endpoint, IHttpClientFactory http, IDataProtectionProvider protection)
{
    readonly ConcurrentDictionary<string, Lazy<Task<string>>> _downloads = new();

    public async Task<string> GetAsync(InstanceLaunch launch, CancellationToken cancellationToken)
    {
        var path = Path.Combine(paths.ModelsDirectory, launch.HfRepo.Replace("/", "--", StringComparison.Ordinal), launch.Commit, launch.WeightsFile);
        if (!Path.GetFullPath(path).StartsWith(Path.GetFullPath(paths.ModelsDirectory) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"weights file name '{launch.WeightsFile}' leaves the model cache");
        }

        if (File.Exists(path))
        {
            return path;
        }

        var download = _downloads.GetOrAdd(path, p => new Lazy<Task<string>>(() => DownloadAsync(launch, p)));
        try
        {
            return await download.Value.WaitAsync(cancellationToken);
        }
        finally
        {
            if (download.Value.IsCompleted)
            {
                _downloads.TryRemove(path, out _);
            }
        }
    }

    async Task<string> DownloadAsync(InstanceLaunch launch, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var client = new HuggingFaceClient(http.CreateClient(nameof(HuggingFaceClient)), await endpoint.GetAsync());
        await client.DownloadFileAsync(launch.HfRepo, launch.Commit, launch.WeightsFile,
            HubWeightsResolver.Unprotect(protection, launch.HfTokenProtected), path, null, CancellationToken.None);
        return path;
    }
}

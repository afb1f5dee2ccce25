using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Node.Engines;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepDeploy.Node.Weights;

/// <summary>
/// The node's model cache, laid out like the Hugging Face Hub cache and shared by every instance on the node:
/// <code>
/// models/&lt;owner&gt;--&lt;name&gt;/blobs/&lt;etag&gt;                 file contents, named by the hub's ETag (sha256 or git blob id)
/// models/&lt;owner&gt;--&lt;name&gt;/snapshots/&lt;commit&gt;/&lt;file&gt;  symlinks to ../../blobs/&lt;etag&gt;, one tree per revision
/// </code>
/// A blob is downloaded once however many instances (and revisions) want it at the same time, and cancelled when the
/// last of them stops waiting; its partial bytes (<c>blobs/&lt;etag&gt;.incomplete</c>) are deleted when a download fails
/// or is cancelled, and when the node starts. Before a download: the weights must fit
/// <see cref="WeightsOptions.MaxWeightsBytes"/>, revisions no live instance uses are evicted least recently used first
/// (and the blobs no snapshot links any more) to keep the cache under its limit, and the volume must keep its reserve free.
/// The cache holds who uses what and decides; <see cref="CacheLayout"/> (paths, sizes, blob clean-up), <see cref="BlobDownload"/>
/// (one shared download) and <see cref="DiskReserve"/> (the free-space check) do the work.
/// </summary>
public sealed class WeightsCache(
    NodePaths paths,
    HfEndpoint endpoint,
    IHttpClientFactory http,
    IDataProtectionProvider protection,
    IDiskSpace disk,
    IOptions<NodeOptions> options,
    IOptions<WeightsOptions> weightsOptions,
    ILogger<WeightsCache> log)
{
    readonly Dictionary<string, BlobDownload> _downloads = [];
    readonly Dictionary<string, int> _inUse = [];
    readonly Dictionary<string, DateTimeOffset> _lastUsed = [];
    readonly HashSet<string> _pinnedBlobs = [];
    readonly Lock _lock = new();
    long? _derivedLimit;
    long _downloadedBytes;

    WeightsOptions Settings => weightsOptions.Value;

    /// <summary>Bytes fetched from the hub by this cache since start (cache hits fetch none).</summary>
    public long DownloadedBytes => Interlocked.Read(ref _downloadedBytes);

    long _hits;
    long _misses;

    /// <summary>Acquisitions that found their weights complete on disk, since start.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Acquisitions that had to ask the hub, since start.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary><see cref="NodeOptions.CacheLimitBytes"/>, or when unset <see cref="WeightsOptions.DefaultCacheShare"/> of what
    /// the cache may grow into (its bytes plus the volume's free space), measured once.</summary>
    public long CacheLimit
    {
        get
        {
            if (options.Value.CacheLimitBytes is { } configured)
            {
                return configured;
            }

            lock (_lock)
            {
                return _derivedLimit ??= (long)((CacheSize() + disk.Probe(paths.ModelsDirectory).FreeBytes) * Settings.DefaultCacheShare);
            }
        }
    }

    /// <summary>When the node starts, before any download: deletes the partial files an earlier run left and fixes the
    /// cache limit.</summary>
    public void Start()
    {
        var removed = CacheLayout.DeletePartials(paths.ModelsDirectory);
        var space = disk.Probe(paths.ModelsDirectory);
        log.LogInformation("Model cache {Directory}: limit {Limit} bytes{Derived}, keeps {Reserve} bytes free on its volume, at most {Max} bytes per deployment; removed {Removed} partial files",
            paths.ModelsDirectory, CacheLimit, options.Value.CacheLimitBytes is null ? " (from free disk)" : "", Settings.ReserveFor(space.TotalBytes),
            Settings.MaxWeightsBytes, removed);
    }

    /// <summary>
    /// The weights of <paramref name="launch"/> on this node's disk, downloaded if missing, held in use (not evictable)
    /// until the lease is disposed. Path: the GGUF file, or the snapshot folder for a safetensors repo, holding the files
    /// <see cref="WeightsFiles"/> gives <paramref name="profile"/> (null: the built-in worker).
    /// <paramref name="progress"/> gets (bytes on disk, bytes in all) every <see cref="NodeOptions.ProgressInterval"/>.
    /// Cancelling <paramref name="cancellationToken"/> cancels the downloads no other instance waits for.
    /// </summary>
    public async Task<WeightsLease> AcquireAsync(InstanceLaunch launch, EngineProfile? profile, Func<DownloadProgress, Task>? progress,
        CancellationToken cancellationToken)
    {
        var repoDir = CacheLayout.RepoDirectory(paths.ModelsDirectory, launch.HfRepo);
        var snapshotKey = CacheLayout.SnapshotKey(repoDir, launch.Commit);
        lock (_lock)
        {
            _inUse[snapshotKey] = _inUse.GetValueOrDefault(snapshotKey) + 1;
            _lastUsed[snapshotKey] = DateTimeOffset.UtcNow;
        }

        var lease = new WeightsLease(this, snapshotKey, "");
        try
        {
            var snapshotDir = Path.Combine(repoDir, "snapshots", launch.Commit);
            var safetensors = launch.WeightsFormat == WeightsFormats.Safetensors;
            var hit = safetensors ? snapshotDir : CacheLayout.Inside(snapshotDir, launch.WeightsFile);
            if (safetensors ? File.Exists(snapshotDir + CacheLayout.CompleteSuffix) : File.Exists(hit))
            {
                // A cache hit asks the hub nothing.
                Interlocked.Increment(ref _hits);
                Directory.SetLastWriteTimeUtc(snapshotDir, DateTime.UtcNow);
                lease.Path = hit;
                return lease;
            }

            Interlocked.Increment(ref _misses);

            var token = endpoint.TokenFor(launch.HfRepo, HubWeightsResolver.Unprotect(protection, launch.HfTokenProtected));
            var client = await endpoint.CreateClientAsync(HttpClient());
            var files = launch.WeightsFormat == WeightsFormats.Safetensors
                ? await SnapshotFilesAsync(client, launch, profile?.AllowCodeFiles == true, token, cancellationToken)
                : [launch.WeightsFile];

            var wanted = new List<Wanted>();
            foreach (var file in files)
            {
                var link = CacheLayout.Inside(snapshotDir, file);
                var (size, etag) = await client.GetFileInfoAsync(launch.HfRepo, launch.Commit, file, token, cancellationToken);
                var blobName = etag is not null && etag.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
                    ? etag : $"{launch.Commit}--{file.Replace('/', '-')}";
                wanted.Add(new Wanted(file, link, size, Path.Combine(repoDir, "blobs", blobName)));
            }

            // Before any byte is written.
            var total = wanted.Sum(w => w.Size);
            if (total > Settings.MaxWeightsBytes)
            {
                throw new InvalidOperationException(HubWeightsResolver.OverLimit(launch.HfRepo, total, Settings.MaxWeightsBytes));
            }

            var missing = wanted.Where(w => !File.Exists(w.Link)).ToList();
            if (missing.Count > 0)
            {
                await FetchAsync(launch, client, token, wanted, missing, progress, cancellationToken);
            }

            Directory.CreateDirectory(snapshotDir);
            if (safetensors)
            {
                File.WriteAllText(snapshotDir + CacheLayout.CompleteSuffix, string.Join('\n', files));
            }

            Directory.SetLastWriteTimeUtc(snapshotDir, DateTime.UtcNow);
            lease.Path = hit;
            return lease;
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    sealed record Wanted(string File, string Link, long Size, string Blob);

    async Task FetchAsync(InstanceLaunch launch, HuggingFaceClient client, string? token, List<Wanted> wanted, List<Wanted> missing,
        Func<DownloadProgress, Task>? progress, CancellationToken cancellationToken)
    {
        var joined = new Dictionary<string, BlobDownload>();
        try
        {
            lock (_lock)
            {
                foreach (var m in missing)
                {
                    _pinnedBlobs.Add(m.Blob);
                }

                var fresh = missing.Where(m => !File.Exists(m.Blob) && !_downloads.ContainsKey(m.Blob)).DistinctBy(m => m.Blob).Sum(m => m.Size);
                EnsureRoom(fresh);
                var pending = _downloads.Values.Where(d => !d.Task.IsCompleted).Sum(d => Math.Max(0, d.Size - d.Done));
                DiskReserve.Ensure(disk, paths.ModelsDirectory, Settings, options.Value.Name, launch.HfRepo, pending, fresh);
                foreach (var m in missing.Where(m => !File.Exists(m.Blob)).DistinctBy(m => m.Blob))
                {
                    var download = _downloads.GetValueOrDefault(m.Blob);
                    if (download is null || download.Cancelled || download.Task.IsCompleted)
                    {
                        // One cancelled or failed and still cleaning up goes first, so that it deletes its own partial file only.
                        download = _downloads[m.Blob] = new BlobDownload(client, launch.HfRepo, launch.Commit, m.File, token, m.Blob, m.Size, download?.Task,
                            fetched: n => Interlocked.Add(ref _downloadedBytes, n), ended: Ended);
                    }

                    download.Waiters++;
                    joined[m.Blob] = download;
                }
            }

            var total = wanted.Sum(w => w.Size);
            var tasks = joined.Values.Select(d => d.Task).ToList();
            long Done() => wanted.Sum(w =>
                joined.TryGetValue(w.Blob, out var d) ? (d.Task.IsCompletedSuccessfully ? w.Size : Math.Min(d.Done, w.Size)) : File.Exists(w.Blob) ? w.Size : 0);

            var last = -1L;
            while (true)
            {
                var done = Done();
                if (done != last && progress is not null)
                {
                    await progress(new DownloadProgress(done, total));
                }

                last = done;
                if (tasks.FirstOrDefault(t => t.IsFaulted || t.IsCanceled) is { } failed)
                {
                    await failed;
                }

                if (tasks.All(t => t.IsCompletedSuccessfully))
                {
                    break;
                }

                await Task.WhenAny(Task.WhenAny(tasks), Task.Delay(options.Value.ProgressInterval, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }

            lock (_lock)
            {
                foreach (var m in missing)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(m.Link)!);
                    if (File.Exists(m.Link) || new FileInfo(m.Link).LinkTarget is not null)
                    {
                        File.Delete(m.Link);
                    }

                    File.CreateSymbolicLink(m.Link, Path.GetRelativePath(Path.GetDirectoryName(m.Link)!, m.Blob));
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                foreach (var download in joined.Values)
                {
                    download.Leave();
                }

                foreach (var m in missing)
                {
                    _pinnedBlobs.Remove(m.Blob);
                }
            }
        }
    }

    /// <summary>The snapshot's files the engine gets (<see cref="WeightsFiles"/>).</summary>
    static async Task<IReadOnlyList<string>> SnapshotFilesAsync(HuggingFaceClient client, InstanceLaunch launch, bool allowCodeFiles, string? token,
        CancellationToken cancellationToken)
    {
        var snapshot = await client.ResolveAsync(launch.HfRepo, launch.Commit, token, cancellationToken);
        return WeightsFiles.Select(snapshot.Files.Select(f => f.Path), launch.WeightsFormat, allowCodeFiles);
    }

    /// <summary>Evicts unused revisions, least recently used first, until <paramref name="incoming"/> more bytes fit the limit.</summary>
    public void EnsureRoom(long incoming)
    {
        var limit = CacheLimit;
        lock (_lock)
        {
            var used = CacheSize();
            if (used + incoming <= limit)
            {
                return;
            }

            var candidates = Snapshots()
                .Where(s => _inUse.GetValueOrDefault(s.Key) == 0)
                .OrderBy(s => _lastUsed.TryGetValue(s.Key, out var at) ? at : new DateTimeOffset(Directory.GetLastWriteTimeUtc(s.Dir), TimeSpan.Zero))
                .ToList();
            foreach (var (key, dir) in candidates)
            {
                if (used + incoming <= limit)
                {
                    break;
                }

                log.LogInformation("Model cache over {Limit} bytes: evicting {Snapshot}", limit, key);
                Directory.Delete(dir, recursive: true);
                File.Delete(dir + CacheLayout.CompleteSuffix);
                _lastUsed.Remove(key);
                var repoDir = Path.GetDirectoryName(Path.GetDirectoryName(dir)!)!;
                CacheLayout.RemoveUnlinkedBlobs(repoDir, blob => _pinnedBlobs.Contains(blob) || _downloads.ContainsKey(blob));
                used = CacheSize();
            }

            if (used + incoming > limit)
            {
                log.LogWarning("Model cache: {Incoming} more bytes exceed the limit of {Limit} ({Used} used by revisions in use); downloading anyway",
                    incoming, limit, used);
            }
        }
    }

    /// <summary>Bytes of blobs (finished and partial) in the cache.</summary>
    public long CacheSize() => CacheLayout.Size(paths.ModelsDirectory);

    /// <summary>Revisions in the cache: key "owner--name/commit" and folder.</summary>
    public IReadOnlyList<(string Key, string Dir)> Snapshots() => CacheLayout.Snapshots(paths.ModelsDirectory);

    internal void Release(string snapshotKey)
    {
        lock (_lock)
        {
            var n = _inUse.GetValueOrDefault(snapshotKey) - 1;
            if (n <= 0)
            {
                _inUse.Remove(snapshotKey);
            }
            else
            {
                _inUse[snapshotKey] = n;
            }

            _lastUsed[snapshotKey] = DateTimeOffset.UtcNow;
        }
    }

    HttpClient HttpClient()
    {
        var client = http.CreateClient(nameof(HuggingFaceClient));
        client.Timeout = Timeout.InfiniteTimeSpan; // multi-gigabyte files: the stop token cancels instead
        return client;
    }

    /// <summary>A blob's download ended: the next one that wants the blob starts another (unless one already did).</summary>
    void Ended(BlobDownload download)
    {
        lock (_lock)
        {
            if (_downloads.GetValueOrDefault(download.Blob) == download)
            {
                _downloads.Remove(download.Blob);
            }
        }
    }
}

using System.Collections.Concurrent;
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
/// A blob is downloaded once however many instances (and revisions) want it at the same time; its partial
/// bytes live in <c>blobs/&lt;etag&gt;.incomplete</c> and are resumed. With <see cref="NodeOptions.CacheLimitBytes"/>
/// set, revisions no live instance uses are evicted least recently used first (and the blobs no snapshot links
/// any more) to make room before a download.
/// </summary>
public sealed class WeightsCache(
    NodePaths paths,
    HfEndpoint endpoint,
    IHttpClientFactory http,
    IDataProtectionProvider protection,
    IOptions<NodeOptions> options,
    ILogger<WeightsCache> log)
{
    readonly ConcurrentDictionary<string, Lazy<Download>> _downloads = new();
    readonly Dictionary<string, int> _inUse = [];
    readonly Dictionary<string, DateTimeOffset> _lastUsed = [];
    readonly HashSet<string> _pinnedBlobs = [];
    readonly Lock _lock = new();
    long _downloadedBytes;

    /// <summary>Bytes fetched from the hub by this cache since start (cache hits fetch none).</summary>
    public long DownloadedBytes => Interlocked.Read(ref _downloadedBytes);

    long _hits;
    long _misses;

    /// <summary>Acquisitions that found their weights complete on disk, since start.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Acquisitions that had to ask the hub, since start.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>
    /// The weights of <paramref name="launch"/> on this node's disk, downloaded if missing, held in use (not evictable)
    /// until the lease is disposed. Path: the GGUF file, or the snapshot folder for a safetensors repo.
    /// <paramref name="progress"/> gets (bytes on disk, bytes in all) every <see cref="NodeOptions.ProgressInterval"/>.
    /// </summary>
    public async Task<WeightsLease> AcquireAsync(InstanceLaunch launch, Func<DownloadProgress, Task>? progress, CancellationToken cancellationToken)
    {
        var repoDir = RepoDirectory(launch.HfRepo);
        var snapshotKey = SnapshotKey(repoDir, launch.Commit);
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
            var hit = safetensors ? snapshotDir : Inside(snapshotDir, launch.WeightsFile);
            if (safetensors ? File.Exists(snapshotDir + CompleteSuffix) : File.Exists(hit))
            {
                // A cache hit asks the hub nothing.
                Interlocked.Increment(ref _hits);
                Directory.SetLastWriteTimeUtc(snapshotDir, DateTime.UtcNow);
                lease.Path = hit;
                return lease;
            }

            Interlocked.Increment(ref _misses);

            var token = HubWeightsResolver.Unprotect(protection, launch.HfTokenProtected);
            var client = await endpoint.CreateClientAsync(HttpClient());
            var files = launch.WeightsFormat == WeightsFormats.Safetensors
                ? await SnapshotFilesAsync(client, launch, token, cancellationToken)
                : [launch.WeightsFile];

            var wanted = new List<(string File, string Link, long Size, string Blob)>();
            foreach (var file in files)
            {
                var link = Inside(snapshotDir, file);
                var (size, etag) = await client.GetFileInfoAsync(launch.HfRepo, launch.Commit, file, token, cancellationToken);
                var blobName = etag is not null && etag.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
                    ? etag : $"{launch.Commit}--{file.Replace('/', '-')}";
                wanted.Add((file, link, size, Path.Combine(repoDir, "blobs", blobName)));
            }

            var missing = wanted.Where(w => !File.Exists(w.Link)).ToList();
            if (missing.Count > 0)
            {
                await FetchAsync(launch, client, token, wanted, missing, progress, cancellationToken);
            }

            Directory.CreateDirectory(snapshotDir);
            if (safetensors)
            {
                File.WriteAllText(snapshotDir + CompleteSuffix, string.Join('\n', files));
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

    async Task FetchAsync(InstanceLaunch launch, HuggingFaceClient client, string? token,
        List<(string File, string Link, long Size, string Blob)> wanted, List<(string File, string Link, long Size, string Blob)> missing,
        Func<DownloadProgress, Task>? progress, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var m in missing)
            {
                _pinnedBlobs.Add(m.Blob);
            }
        }

        try
        {
            EnsureRoom(missing.Where(m => !File.Exists(m.Blob)).Sum(m => m.Size));
            var total = wanted.Sum(w => w.Size);
            var downloads = missing.Where(m => !File.Exists(m.Blob))
                .Select(m => _downloads.GetOrAdd(m.Blob, blob => new Lazy<Download>(() => new Download(this, client, launch.HfRepo, launch.Commit, m.File, token, blob))).Value)
                .ToList();
            var all = Task.WhenAll(downloads.Select(d => d.Task));
            long Done() => wanted.Sum(w =>
                File.Exists(w.Blob) ? w.Size : _downloads.TryGetValue(w.Blob, out var d) && d.IsValueCreated ? Math.Min(d.Value.Done, w.Size) : 0);

            var last = -1L;
            while (true)
            {
                var done = all.IsCompletedSuccessfully ? total : Done();
                if (done != last && progress is not null)
                {
                    await progress(new DownloadProgress(done, total));
                }

                last = done;
                if (all.IsCompleted)
                {
                    await all;
                    break;
                }

                await Task.WhenAny(all, Task.Delay(options.Value.ProgressInterval, cancellationToken));
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
                foreach (var m in missing)
                {
                    _pinnedBlobs.Remove(m.Blob);
                }
            }
        }
    }

    /// <summary>The snapshot's files an engine that takes safetensors needs: everything but other weight formats.</summary>
    static async Task<IReadOnlyList<string>> SnapshotFilesAsync(HuggingFaceClient client, InstanceLaunch launch, string? token, CancellationToken cancellationToken)
    {
        var snapshot = await client.ResolveAsync(launch.HfRepo, launch.Commit, token, cancellationToken);
        return snapshot.Files.Select(f => f.Path).Where(f => !OtherWeightFormats.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase))).ToList();
    }

    /// <summary>Beside a safetensors snapshot folder: the list of its files, written once all are there.</summary>
    const string CompleteSuffix = ".complete";

    static readonly string[] OtherWeightFormats = [".bin", ".pt", ".pth", ".gguf", ".onnx", ".h5", ".msgpack", ".ckpt", ".tflite", ".ot"];

    /// <summary>Evicts unused revisions, least recently used first, until <paramref name="incoming"/> more bytes fit the limit.</summary>
    public void EnsureRoom(long incoming)
    {
        if (options.Value.CacheLimitBytes is not { } limit)
        {
            return;
        }

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
                File.Delete(dir + CompleteSuffix);
                _lastUsed.Remove(key);
                var repoDir = Path.GetDirectoryName(Path.GetDirectoryName(dir)!)!;
                RemoveUnlinkedBlobs(repoDir);
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
    public long CacheSize() =>
        !Directory.Exists(paths.ModelsDirectory) ? 0
            : Directory.EnumerateDirectories(paths.ModelsDirectory).Select(r => Path.Combine(r, "blobs")).Where(Directory.Exists)
                .SelectMany(b => new DirectoryInfo(b).EnumerateFiles()).Sum(f => f.Length);

    /// <summary>Revisions in the cache: key "owner--name/commit" and folder.</summary>
    public IReadOnlyList<(string Key, string Dir)> Snapshots() =>
        !Directory.Exists(paths.ModelsDirectory) ? []
            : Directory.EnumerateDirectories(paths.ModelsDirectory)
                .Select(r => Path.Combine(r, "snapshots")).Where(Directory.Exists)
                .SelectMany(Directory.EnumerateDirectories)
                .Select(d => (SnapshotKey(Path.GetDirectoryName(Path.GetDirectoryName(d)!)!, Path.GetFileName(d)), d))
                .ToList();

    void RemoveUnlinkedBlobs(string repoDir)
    {
        var blobs = Path.Combine(repoDir, "blobs");
        var snapshots = Path.Combine(repoDir, "snapshots");
        var linked = Directory.Exists(snapshots)
            ? Directory.EnumerateFiles(snapshots, "*", SearchOption.AllDirectories)
                .Select(f => new FileInfo(f).LinkTarget is { } t ? Path.GetFullPath(t, Path.GetDirectoryName(f)!) : null)
                .Where(t => t is not null).ToHashSet(StringComparer.Ordinal)
            : [];
        if (Directory.Exists(blobs))
        {
            foreach (var blob in Directory.EnumerateFiles(blobs))
            {
                var finished = blob.EndsWith(".incomplete", StringComparison.Ordinal) ? blob[..^".incomplete".Length] : blob;
                if (!linked.Contains(blob) && !_pinnedBlobs.Contains(finished) && !_downloads.ContainsKey(finished))
                {
                    File.Delete(blob);
                }
            }
        }

        if (Directory.Exists(snapshots) && !Directory.EnumerateFileSystemEntries(snapshots).Any()
            && (!Directory.Exists(blobs) || !Directory.EnumerateFileSystemEntries(blobs).Any()))
        {
            Directory.Delete(repoDir, recursive: true);
        }
    }

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

    string RepoDirectory(string repo) => Inside(paths.ModelsDirectory, repo.Replace("/", "--", StringComparison.Ordinal));

    static string SnapshotKey(string repoDir, string commit) => $"{Path.GetFileName(repoDir)}/{commit}";

    static string Inside(string root, string relative)
    {
        var path = Path.GetFullPath(Path.Combine(root, relative));
        if (!path.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"weights path '{relative}' leaves the model cache");
        }

        return path;
    }

    /// <summary>One blob's download, shared by everyone who wants it meanwhile.</summary>
    sealed class Download : IProgress<long>
    {
        long _done;

        public Download(WeightsCache cache, HuggingFaceClient client, string repo, string commit, string file, string? token, string blob)
        {
            Task = Task.Run(async () =>
            {
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
                    var before = File.Exists(blob + ".incomplete") ? new FileInfo(blob + ".incomplete").Length : 0;
                    // Not cancelled by one waiter's stop: others may wait for it too, and the bytes stay useful.
                    await client.DownloadFileAsync(repo, commit, file, token, blob, this, CancellationToken.None);
                    Interlocked.Add(ref cache._downloadedBytes, new FileInfo(blob).Length - before);
                }
                finally
                {
                    foreach (var entry in cache._downloads.Where(e => e.Key == blob && e.Value.IsValueCreated && ReferenceEquals(e.Value.Value, this)))
                    {
                        cache._downloads.TryRemove(entry);
                    }
                }
            });
        }

        public Task Task { get; }

        public long Done => Interlocked.Read(ref _done);

        public void Report(long value) => Interlocked.Exchange(ref _done, value);
    }
}

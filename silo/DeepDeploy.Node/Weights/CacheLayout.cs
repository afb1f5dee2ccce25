namespace DeepDeploy.Node.Weights;

/// <summary>
/// Where the <see cref="WeightsCache"/> keeps things on disk, laid out like the Hugging Face Hub cache, and what is there:
/// <c>models/owner--name/blobs/etag</c> (contents) and <c>models/owner--name/snapshots/commit/file</c> (symlinks to the
/// blobs, one tree per revision). No path it builds leaves the models folder.
/// </summary>
internal static class CacheLayout
{
    /// <summary>Beside a blob: its bytes so far.</summary>
    public const string Partial = ".incomplete";

    /// <summary>Beside a safetensors snapshot folder: the list of its files, written once all are there.</summary>
    public const string CompleteSuffix = ".complete";

    public static string RepoDirectory(string models, string repo) => Inside(models, repo.Replace("/", "--", StringComparison.Ordinal));

    /// <summary>A revision's key: "owner--name/commit".</summary>
    public static string SnapshotKey(string repoDir, string commit) => $"{Path.GetFileName(repoDir)}/{commit}";

    /// <summary><paramref name="relative"/> under <paramref name="root"/>, refused if it would leave it.</summary>
    public static string Inside(string root, string relative)
    {
        var path = Path.GetFullPath(Path.Combine(root, relative));
        if (!path.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"weights path '{relative}' leaves the model cache");
        }

        return path;
    }

    /// <summary>Bytes of blobs (finished and partial) in the cache.</summary>
    public static long Size(string models) =>
        !Directory.Exists(models) ? 0
            : BlobFolders(models).SelectMany(b => new DirectoryInfo(b).EnumerateFiles()).Sum(f => f.Length);

    /// <summary>Revisions in the cache: key "owner--name/commit" and folder.</summary>
    public static IReadOnlyList<(string Key, string Dir)> Snapshots(string models) =>
        !Directory.Exists(models) ? []
            : Directory.EnumerateDirectories(models)
                .Select(r => Path.Combine(r, "snapshots")).Where(Directory.Exists)
                .SelectMany(Directory.EnumerateDirectories)
                .Select(d => (SnapshotKey(Path.GetDirectoryName(Path.GetDirectoryName(d)!)!, Path.GetFileName(d)), d))
                .ToList();

    /// <summary>Deletes the partial blobs an earlier run left; how many.</summary>
    public static int DeletePartials(string models)
    {
        var removed = 0;
        if (Directory.Exists(models))
        {
            foreach (var partial in BlobFolders(models).SelectMany(b => Directory.EnumerateFiles(b, "*" + Partial)))
            {
                File.Delete(partial);
                removed++;
            }
        }

        return removed;
    }

    /// <summary>Deletes a repo's blobs no snapshot links any more, except those <paramref name="busy"/> names (by their
    /// finished path), and the repo's folder once nothing is left in it.</summary>
    public static void RemoveUnlinkedBlobs(string repoDir, Func<string, bool> busy)
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
                var finished = blob.EndsWith(Partial, StringComparison.Ordinal) ? blob[..^Partial.Length] : blob;
                if (!linked.Contains(blob) && !busy(finished))
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

    static IEnumerable<string> BlobFolders(string models) =>
        Directory.EnumerateDirectories(models).Select(r => Path.Combine(r, "blobs")).Where(Directory.Exists);
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace DeepDeploy.Silo.ModelHub;

/// <summary>One file of a local repository, with the hashes the Hub exposes.</summary>
internal sealed record LocalHubFile(string Path, string FullPath, long Size, DateTime LastWriteUtc, string Sha256, string GitBlobSha1, bool IsLfs)
{
    /// <summary>The Hub's ETag: the LFS sha256 for large/weight files, the git blob id otherwise.</summary>
    public string ETag => IsLfs ? Sha256 : GitBlobSha1;
}

/// <summary>A snapshot of <c>&lt;root&gt;/&lt;owner&gt;/&lt;name&gt;</c>: its files and a deterministic commit id.</summary>
internal sealed record LocalHubSnapshot(string RepoId, string Directory, string Commit, IReadOnlyList<LocalHubFile> Files)
{
    public LocalHubFile? Find(string path) => Files.FirstOrDefault(f => string.Equals(f.Path, path, StringComparison.Ordinal));

    public bool IsRevision(string revision) =>
        revision == "main" || string.Equals(revision, Commit, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Reads repositories from the local directory. File hashes are cached per (path, size, mtime), so a
/// multi-gigabyte weights file is hashed once, not on every request.
/// </summary>
internal sealed class LocalHubStore(string rootDirectory)
{
    private static readonly string[] LfsExtensions =
        [".gguf", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".msgpack", ".model", ".tflite", ".npz", ".zip", ".tar", ".gz"];
    private const long LfsThreshold = 10 * 1024 * 1024;

    private readonly ConcurrentDictionary<(string Path, long Size, DateTime Mtime), (string Sha256, string GitSha1)> _hashes = new();

    public string RootDirectory { get; } = Path.GetFullPath(rootDirectory);

    /// <summary>The snapshot of a repository, or null when the names are invalid or the directory is missing.</summary>
    public LocalHubSnapshot? TryGetSnapshot(string owner, string name)
    {
        if (!LocalHubPaths.IsValidName(owner) || !LocalHubPaths.IsValidName(name))
        {
            return null;
        }

        var directory = Path.Combine(RootDirectory, owner, name);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        var files = new List<LocalHubFile>();
        foreach (var fullPath in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(directory, fullPath).Replace(Path.DirectorySeparatorChar, '/');
            if (relative.EndsWith(".incomplete", StringComparison.Ordinal)
                || !LocalHubPaths.TryGetFilePath(directory, relative, out _)
                || !LocalHubPaths.IsServableFile(directory, fullPath))
            {
                continue;
            }

            var info = new FileInfo(fullPath);
            var (sha256, gitSha1) = Hash(info);
            var isLfs = info.Length >= LfsThreshold || LfsExtensions.Contains(Path.GetExtension(relative), StringComparer.OrdinalIgnoreCase);
            files.Add(new LocalHubFile(relative, fullPath, info.Length, info.LastWriteTimeUtc, sha256, gitSha1, isLfs));
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new LocalHubSnapshot($"{owner}/{name}", directory, ComputeCommit(files), files);
    }

    /// <summary>40-hex commit id: SHA-1 over the sorted "path NUL sha256 LF" lines. Same files, same id.</summary>
    private static string ComputeCommit(IReadOnlyList<LocalHubFile> files)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        foreach (var file in files)
        {
            sha1.AppendData(Encoding.UTF8.GetBytes(file.Path));
            sha1.AppendData([0]);
            sha1.AppendData(Encoding.ASCII.GetBytes(file.Sha256));
            sha1.AppendData("\n"u8);
        }

        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    private (string Sha256, string GitSha1) Hash(FileInfo info)
    {
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
        return _hashes.GetOrAdd(key, static k =>
        {
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var gitSha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            gitSha1.AppendData(Encoding.ASCII.GetBytes($"blob {k.Size}\0"));
            using var stream = new FileStream(k.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 20);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                sha256.AppendData(buffer, 0, read);
                gitSha1.AppendData(buffer, 0, read);
            }

            return (Convert.ToHexStringLower(sha256.GetHashAndReset()), Convert.ToHexStringLower(gitSha1.GetHashAndReset()));
        });
    }
}

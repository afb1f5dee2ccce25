using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace DeepDeploy.LocalHub;

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

    /// <summary>Tokens accepted for a private repo (<c>.deepdeploy-private</c>, one per line); null: public.</summary>
    public IReadOnlyList<string>? AcceptedTokens { get; init; }

    /// <summary>From <c>.deepdeploy-cut</c>: GETs of its files send this many bytes, then the connection drops.</summary>
    public long? CutAfterBytes { get; init; }

    /// <summary>From <c>.deepdeploy-throttle</c>: GETs of its files send at most this many bytes per second.</summary>
    public long? BytesPerSecond { get; init; }

    /// <summary>From <c>.deepdeploy-oversize</c>: GETs of its files send this many bytes more than the size reported.</summary>
    public long? ExtraBytes { get; init; }

    /// <summary>True when a GET is served by <c>LocalHubFileResult</c> (cut, throttled or oversized) rather than as a plain file.</summary>
    public bool Misbehaves => CutAfterBytes is not null || BytesPerSecond is not null || ExtraBytes is not null;

    /// <summary>This snapshot with the repo's (main folder's) access and test behaviours.</summary>
    public LocalHubSnapshot WithControlsOf(LocalHubSnapshot main) => this with
    {
        AcceptedTokens = main.AcceptedTokens, CutAfterBytes = main.CutAfterBytes, BytesPerSecond = main.BytesPerSecond, ExtraBytes = main.ExtraBytes,
    };
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

    /// <summary>Control files of the stand-in in a repo folder; never listed nor served.</summary>
    public const string ControlPrefix = ".deepdeploy-";
    public const string PrivateFile = ".deepdeploy-private";
    public const string CutFile = ".deepdeploy-cut";
    public const string ThrottleFile = ".deepdeploy-throttle";
    public const string OversizeFile = ".deepdeploy-oversize";

    private readonly ConcurrentDictionary<string, int> _cutsServed = new();

    /// <summary>
    /// The snapshot of <paramref name="revision"/>: <c>main</c> is <c>&lt;owner&gt;/&lt;name&gt;/</c>, another branch or tag
    /// <c>R</c> is the folder <c>&lt;owner&gt;/&lt;name&gt;@R/</c>, and a 40-hex commit id names whichever of these has that
    /// commit. Null repo: no such repository; null snapshot: no such revision.
    /// </summary>
    public (LocalHubSnapshot? Repo, LocalHubSnapshot? Revision) Find(string owner, string name, string revision)
    {
        var main = TryGetSnapshot(owner, name);
        if (main is null)
        {
            return (null, null);
        }

        if (revision == "main" || string.Equals(revision, main.Commit, StringComparison.OrdinalIgnoreCase))
        {
            return (main, main);
        }

        if (LocalHubPaths.IsValidName(revision) && TryGetSnapshot(owner, name + "@" + revision, $"{owner}/{name}") is { } named)
        {
            return (main, named.WithControlsOf(main));
        }

        if (revision.Length == 40 && revision.All(char.IsAsciiHexDigit))
        {
            foreach (var directory in System.IO.Directory.EnumerateDirectories(Path.Combine(RootDirectory, owner), name + "@*"))
            {
                var other = TryGetSnapshot(owner, Path.GetFileName(directory), $"{owner}/{name}");
                if (other is not null && string.Equals(other.Commit, revision, StringComparison.OrdinalIgnoreCase))
                {
                    return (main, other.WithControlsOf(main));
                }
            }
        }

        return (main, null);
    }

    /// <summary>True when this GET should be cut: always, or the first N times as <c>.deepdeploy-cut</c>'s second number says.</summary>
    public bool ShouldCut(LocalHubSnapshot snapshot, string path)
    {
        var cutFile = Path.Combine(RootDirectory, snapshot.RepoId.Split('/')[0], snapshot.RepoId.Split('/')[1], CutFile);
        var parts = ReadControl(cutFile);
        if (parts.Count < 2 || !int.TryParse(parts[1], out var times))
        {
            return true;
        }

        var key = $"{cutFile}|{File.GetLastWriteTimeUtc(cutFile).Ticks}|{path}";
        return _cutsServed.AddOrUpdate(key, 1, (_, n) => n + 1) <= times;
    }

    /// <summary>The first number of a control file; null when it is missing or holds none.</summary>
    private static long? ReadNumber(string path)
    {
        var parts = ReadControl(path);
        return parts.Count > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    private static List<string> ReadControl(string path)
    {
        try
        {
            return File.Exists(path)
                ? File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
                    .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList()
                : [];
        }
        catch (IOException)
        {
            return [];
        }
    }

    private readonly ConcurrentDictionary<(string Path, long Size, DateTime Mtime), (string Sha256, string GitSha1)> _hashes = new();

    public string RootDirectory { get; } = Path.GetFullPath(rootDirectory);

    /// <summary>The snapshot of a repository, or null when the names are invalid or the directory is missing.</summary>
    public LocalHubSnapshot? TryGetSnapshot(string owner, string name) => TryGetSnapshot(owner, name, null);

    private LocalHubSnapshot? TryGetSnapshot(string owner, string name, string? repoId)
    {
        if (!LocalHubPaths.IsValidName(owner) || (repoId is null ? !LocalHubPaths.IsValidName(name) : name.Contains('/')))
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
                || relative.StartsWith(ControlPrefix, StringComparison.Ordinal)
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
        var tokens = ReadControl(Path.Combine(directory, PrivateFile));
        return new LocalHubSnapshot(repoId ?? $"{owner}/{name}", directory, ComputeCommit(files), files)
        {
            AcceptedTokens = File.Exists(Path.Combine(directory, PrivateFile)) ? tokens : null,
            CutAfterBytes = ReadNumber(Path.Combine(directory, CutFile)),
            BytesPerSecond = ReadNumber(Path.Combine(directory, ThrottleFile)),
            ExtraBytes = ReadNumber(Path.Combine(directory, OversizeFile)),
        };
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

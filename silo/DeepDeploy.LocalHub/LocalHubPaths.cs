namespace DeepDeploy.LocalHub;

/// <summary>
/// Name and path rules of the local hub. Everything served comes from
/// <c>&lt;root&gt;/&lt;owner&gt;/&lt;name&gt;/&lt;relative path&gt;</c>; nothing else may be reached.
/// </summary>
public static class LocalHubPaths
{
    /// <summary>True for a usable owner or repo name: letters, digits, '-', '_', '.', not starting with '.', at most 96 chars.</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 96 || name[0] == '.' || name[0] == '-')
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Validates a repository-relative file path ("a/b.gguf") and maps it to a full path inside
    /// <paramref name="repoDirectory"/>. Refuses empty, rooted or drive paths, backslashes, NUL,
    /// '.' / '..' / empty segments, anything under <c>.git/</c>, and any result that would leave the
    /// repository directory.
    /// </summary>
    public static bool TryGetFilePath(string repoDirectory, string? relativePath, out string fullPath)
    {
        fullPath = "";
        if (string.IsNullOrEmpty(relativePath) || relativePath.Length > 1024
            || relativePath.Contains('\\') || relativePath.Contains('\0') || relativePath.Contains(':')
            || Path.IsPathRooted(relativePath))
        {
            return false;
        }

        var segments = relativePath.Split('/');
        foreach (var segment in segments)
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
            {
                return false;
            }
        }

        if (segments[0] == ".git")
        {
            return false;
        }

        var root = Path.GetFullPath(repoDirectory);
        var rootWithSeparator = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        var candidate = Path.GetFullPath(Path.Combine(root, relativePath));
        if (!candidate.StartsWith(rootWithSeparator, StringComparison.Ordinal))
        {
            return false;
        }

        fullPath = candidate;
        return true;
    }

    /// <summary>True when <paramref name="fullPath"/> is a regular file whose real location (after symlinks) is inside <paramref name="repoDirectory"/>.</summary>
    internal static bool IsServableFile(string repoDirectory, string fullPath)
    {
        var info = new FileInfo(fullPath);
        if (!info.Exists)
        {
            return false;
        }

        if (info.LinkTarget is null)
        {
            return true;
        }

        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        if (target is null || !target.Exists)
        {
            return false;
        }

        var root = Path.GetFullPath(repoDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return Path.GetFullPath(target.FullName).StartsWith(root, StringComparison.Ordinal);
    }
}

namespace DeepDeploy.Node.Engines;

/// <summary>
/// What an engine running as its own user may reach on disk. The data directory is owner-only except the path
/// down to the engines' working directories, which others may traverse but not list (0711): the database, Data
/// Protection keys, operator token, pid files and the model cache stay unreadable. Each engine gets a fresh 0700
/// working directory of its own, holding hard links to its weights snapshot's files: it reads its own weights
/// without any access to the cache, and no other engine reaches them.
/// </summary>
public sealed class EngineSandbox(NodePaths paths)
{
    const UnixFileMode Traversable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    const UnixFileMode GroupAndOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The folder of weights links inside a working directory.</summary>
    public const string WeightsFolder = "weights";

    /// <summary>Empties and recreates the working directory (nothing a previous process planted there is followed),
    /// links the weights into it and returns the path the engine loads them from.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public string Prepare(string workingDirectory, string weightsPath)
    {
        Guard();
        if (Directory.Exists(workingDirectory))
        {
            Directory.Delete(workingDirectory, recursive: true);
        }

        Directory.CreateDirectory(workingDirectory, OwnerOnly);
        var view = Path.Combine(workingDirectory, WeightsFolder);
        Directory.CreateDirectory(view);
        if (File.Exists(weightsPath))
        {
            var link = Path.Combine(view, Path.GetFileName(weightsPath));
            Link(weightsPath, link);
            return link;
        }

        foreach (var file in Directory.EnumerateFiles(weightsPath, "*", SearchOption.AllDirectories))
        {
            var link = Path.Combine(view, Path.GetRelativePath(weightsPath, file));
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            Link(file, link);
        }

        return view;
    }

    /// <summary>Hands the working directory (not the weights links in it) to the engine's user.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static void GiveTo(string workingDirectory, EngineUser user)
    {
        UnixFiles.Chown(workingDirectory, user);
        foreach (var directory in Directory.EnumerateDirectories(workingDirectory).Where(d => Path.GetFileName(d) != WeightsFolder))
        {
            UnixFiles.Chown(directory, user);
        }
    }

    /// <summary>Makes the data directory owner-only but for the engines' path, and says plainly when the engine's
    /// user cannot reach its working directory at all (a data directory under a private home).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    void Guard()
    {
        var dataDirectory = Path.GetDirectoryName(Path.GetDirectoryName(paths.Root))!;
        for (var parent = Path.GetDirectoryName(dataDirectory); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if ((File.GetUnixFileMode(parent) & UnixFileMode.OtherExecute) == 0)
            {
                throw new InvalidOperationException(
                    $"engines run as unprivileged users but cannot reach the data directory {dataDirectory}: {parent} is private. "
                    + "Put the nodes' directory where other users may traverse (DeepDeploy:Node:Directory, e.g. /var/lib/deepdeploy/nodes), "
                    + "or set DeepDeploy:Node:EngineUsers:Enabled=false");
            }
        }

        string[] path = [dataDirectory, Path.GetDirectoryName(paths.Root)!, paths.Root, paths.RunDirectory, paths.EnginesDirectory];
        foreach (var directory in path)
        {
            Directory.CreateDirectory(directory);
            File.SetUnixFileMode(directory, Traversable);
            // Not the engines' folder (each engine's own) nor other nodes' roots (each node guards its own).
            if (directory == paths.EnginesDirectory || directory == path[1])
            {
                continue;
            }

            foreach (var entry in Directory.EnumerateFileSystemEntries(directory).Where(e => !path.Contains(e, StringComparer.Ordinal)))
            {
                Restrict(entry);
            }
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    static void Restrict(string entry)
    {
        var info = new FileInfo(entry);
        if (info.LinkTarget is null && (info.UnixFileMode & GroupAndOthers) != 0)
        {
            File.SetUnixFileMode(entry, info.UnixFileMode & ~GroupAndOthers);
        }
    }

    /// <summary>Links the real file (not the cache's symlink to it), readable through the link alone.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    static void Link(string file, string link)
    {
        var target = new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(file);
        UnixFiles.HardLink(target, link);
        var mode = File.GetUnixFileMode(target);
        if ((mode & UnixFileMode.OtherRead) == 0)
        {
            File.SetUnixFileMode(target, mode | UnixFileMode.OtherRead);
        }
    }
}

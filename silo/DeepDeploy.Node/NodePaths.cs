namespace DeepDeploy.Node;

/// <summary>Where a node keeps its files: its model cache, pid files and engines' working directories under
/// <c>&lt;nodes directory&gt;/&lt;node name&gt;</c>; the nodes directory is <c>&lt;data directory&gt;/nodes</c> unless
/// <see cref="NodesDirectoryFor"/> moves it.</summary>
public sealed class NodePaths(string dataDirectory, string nodeName, string? nodesDirectory = null)
{
    /// <summary>Where a root node keeps its files when engines, running as other users, could not reach the data
    /// directory (e.g. root's private home).</summary>
    public const string SharedNodesDirectory = "/var/lib/deepdeploy/nodes";

    public string DataDirectory { get; } = Path.GetFullPath(dataDirectory).TrimEnd(Path.DirectorySeparatorChar);

    public string Root { get; } = Path.Combine(nodesDirectory ?? Path.Combine(dataDirectory, "nodes"), nodeName);

    /// <summary>The folder holding every node's root (the engines' sandbox guards it).</summary>
    public string NodesDirectory => Path.GetDirectoryName(Root)!;

    public string RunDirectory => Path.Combine(Root, "run");

    /// <summary>Where each engine gets its own working directory (its HOME), emptied when the node starts.</summary>
    public string EnginesDirectory => Path.Combine(RunDirectory, "engines");

    public string EngineDirectory(string instanceId) => Path.Combine(EnginesDirectory, instanceId);

    public string ModelsDirectory => Path.Combine(Root, "models");

    /// <summary>The configured nodes directory; else, when engines run as other users and a folder above the data
    /// directory is private to the host's user (root's home, where `dotnet run` keeps the data by default),
    /// <see cref="SharedNodesDirectory"/>, so that the two run commands work as root too; else null (the data
    /// directory's).</summary>
    public static string? NodesDirectoryFor(string dataDirectory, NodeOptions options)
    {
        if (options.Directory is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        if (!OperatingSystem.IsLinux() || !(options.EngineUsers.Enabled ?? Environment.IsPrivilegedProcess))
        {
            return null;
        }

        for (var parent = Path.GetDirectoryName(Path.GetFullPath(dataDirectory)); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if (Directory.Exists(parent) && (File.GetUnixFileMode(parent) & UnixFileMode.OtherExecute) == 0)
            {
                return SharedNodesDirectory;
            }
        }

        return null;
    }
}

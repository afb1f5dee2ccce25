namespace DeepDeploy.Node;

/// <summary>Where a node keeps its files under the data directory.</summary>
public sealed class NodePaths(string dataDirectory, string nodeName)
{
    public string DataDirectory { get; } = Path.GetFullPath(dataDirectory).TrimEnd(Path.DirectorySeparatorChar);

    public string Root { get; } = Path.Combine(dataDirectory, "nodes", nodeName);

    public string RunDirectory => Path.Combine(Root, "run");

    /// <summary>Where each engine gets its own working directory (its HOME), emptied when the node starts.</summary>
    public string EnginesDirectory => Path.Combine(RunDirectory, "engines");

    public string EngineDirectory(string instanceId) => Path.Combine(EnginesDirectory, instanceId);

    public string ModelsDirectory => Path.Combine(Root, "models");
}

namespace DeepDeploy.Node;

/// <summary>Where a node keeps its files under the data directory.</summary>
public sealed class NodePaths(string dataDirectory, string nodeName)
{
    public string Root { get; } = Path.Combine(dataDirectory, "nodes", nodeName);

    public string RunDirectory => Path.Combine(Root, "run");

    public string ModelsDirectory => Path.Combine(Root, "models");
}

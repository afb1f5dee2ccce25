using DeepDeploy.Node;
using DeepDeploy.Node.Engines;
using DeepDeploy.Tests.Support;

namespace DeepDeploy.Tests.Units;

/// <summary>Where a node keeps its files: engines running as other users must be able to reach them.</summary>
[Trait("Category", "Unit")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NodePathsTests : IDisposable
{
    readonly string _root = SystemHttp.NewDataDirectory("deepdeploy-node-paths-");

    static NodeOptions Engines(bool asOtherUsers, string? directory = null) =>
        new() { Directory = directory, EngineUsers = new EngineUserOptions { Enabled = asOtherUsers } };

    [Fact]
    public void A_data_directory_under_a_private_folder_moves_the_nodes_out_when_engines_run_as_other_users()
    {
        var privateParent = Path.Combine(_root, "home");
        Directory.CreateDirectory(privateParent);
        File.SetUnixFileMode(privateParent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var dataDirectory = Path.Combine(privateParent, "deepdeploy");

        Assert.Equal(NodePaths.SharedNodesDirectory, NodePaths.NodesDirectoryFor(dataDirectory, Engines(asOtherUsers: true)));
        Assert.Null(NodePaths.NodesDirectoryFor(dataDirectory, Engines(asOtherUsers: false)));
    }

    [Fact]
    public void A_traversable_data_directory_keeps_the_nodes_inside_it()
    {
        File.SetUnixFileMode(_root, (UnixFileMode)Convert.ToInt32("711", 8));
        var dataDirectory = Path.Combine(_root, "deepdeploy");

        Assert.Null(NodePaths.NodesDirectoryFor(dataDirectory, Engines(asOtherUsers: true)));
        Assert.Equal(Path.Combine(dataDirectory, "nodes", "n1"), new NodePaths(dataDirectory, "n1").Root);
    }

    [Fact]
    public void A_configured_directory_wins()
    {
        var configured = Path.Combine(_root, "elsewhere");

        Assert.Equal(configured, NodePaths.NodesDirectoryFor("/root/.local/share/deepdeploy", Engines(asOtherUsers: true, configured)));
        Assert.Equal(Path.Combine(configured, "n1"), new NodePaths("/data", "n1", configured).Root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

using DeepDeploy.Contracts.Nodes;
using DeepDeploy.Grains.Deployments;

namespace DeepDeploy.Tests.Grains;

[Trait("Category", "Unit")]
public sealed class NeverFitsTests
{
    static NodeCapacity Node(string name, string gpu, int total, int free) =>
        new(name, true, new Dictionary<string, int> { [gpu] = total }, new Dictionary<string, int> { [gpu] = free }, null);

    static readonly ClusterCapacity Cluster = new([Node("a", "A100-80GB", 1, 0), Node("b", "A100-80GB", 2, 0), Node("h", "H100-80GB", 8, 8)]);

    [Theory]
    [InlineData("A100-80GB", 2, null)] // exists, busy: waits
    [InlineData("H100-80GB", 8, null)]
    [InlineData("A100-80GB", 3, "no node offers 3 x A100-80GB (the largest has 2)")]
    [InlineData("L4", 1, "no node offers L4 GPUs")]
    public void Only_gpus_that_do_not_exist_make_an_instance_unplaceable(string gpu, int numGpus, string? why) =>
        Assert.Equal(why, InstancePlacer.NeverFits(Cluster, gpu, numGpus));

    [Fact]
    public void An_empty_cluster_holds_nothing() =>
        Assert.Equal("no node offers H100-80GB GPUs", InstancePlacer.NeverFits(new ClusterCapacity([]), "H100-80GB", 1));
}

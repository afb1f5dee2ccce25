using DeepDeploy.Node;
using DeepDeploy.Node.Engines;

namespace DeepDeploy.Tests.Units;

[Trait("Category", "Unit")]
public sealed class GpuDiscoveryTests
{
    [Fact]
    public void Simulated_spec_gives_indexed_gpus_of_each_type()
    {
        var gpus = GpuDiscovery.ParseSimulated("2xA100-80GB, 1xH100-80GB");
        Assert.Equal([0, 1, 2], gpus.Select(g => g.Index));
        Assert.Equal(["A100-80GB", "A100-80GB", "H100-80GB"], gpus.Select(g => g.Type));
        Assert.All(gpus, g => Assert.Equal(80 * 1024, g.MemoryMiB));
        Assert.Throws<FormatException>(() => GpuDiscovery.ParseSimulated("A100"));
    }

    [Fact]
    public void Nvidia_smi_names_map_to_catalogue_types()
    {
        var gpus = GpuDiscovery.ParseNvidiaSmi("""
            0, NVIDIA A100-SXM4-80GB, 81920
            1, NVIDIA H100 80GB HBM3, 81559
            2, NVIDIA L4, 23034
            3, NVIDIA A100-PCIE-40GB, 40960
            """);
        Assert.Equal(["A100-80GB", "H100-80GB", "L4-24GB", "A100-40GB"], gpus.Select(g => g.Type));
        Assert.Equal([0, 1, 2, 3], gpus.Select(g => g.Index));
    }
}

using DeepDeploy.Node.Weights;

namespace DeepDeploy.Tests.Weights;

/// <summary>A volume with the free space a test sets (a nearly full disk).</summary>
public sealed class FakeDisk(long free, long total) : IDiskSpace
{
    public long Free { get; set; } = free;

    public DiskSpace Probe(string path) => new(Free, total);
}

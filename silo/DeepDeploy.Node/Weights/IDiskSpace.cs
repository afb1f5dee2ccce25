namespace DeepDeploy.Node.Weights;

/// <summary>Free and total bytes of the volume holding a path; a test double simulates a nearly full disk.</summary>
public interface IDiskSpace
{
    DiskSpace Probe(string path);
}

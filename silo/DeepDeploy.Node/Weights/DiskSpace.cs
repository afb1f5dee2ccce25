namespace DeepDeploy.Node.Weights;

/// <summary>What <see cref="IDiskSpace.Probe"/> found: bytes this process may still write, and the volume's size.</summary>
public readonly record struct DiskSpace(long FreeBytes, long TotalBytes);

namespace DeepDeploy.Node.Weights;

/// <summary>The real volume (statvfs on Unix through <see cref="DriveInfo"/>): space available to this process.</summary>
public sealed class VolumeDiskSpace : IDiskSpace
{
    public DiskSpace Probe(string path)
    {
        Directory.CreateDirectory(path);
        var drive = new DriveInfo(path);
        return new DiskSpace(drive.AvailableFreeSpace, drive.TotalSize);
    }
}

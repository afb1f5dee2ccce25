namespace DeepDeploy.Node.Weights;

/// <summary>The free space a node's model volume keeps (<see cref="WeightsOptions.ReserveFor"/>): a download that would
/// eat into it is refused before any byte is written, with a message that says how much is free and what is kept.</summary>
internal static class DiskReserve
{
    /// <param name="pending">Bytes the downloads under way still have to write.</param>
    /// <param name="incoming">Bytes the new download writes.</param>
    /// <exception cref="InvalidOperationException">It does not fit.</exception>
    public static void Ensure(IDiskSpace disk, string models, WeightsOptions settings, string node, string repo, long pending, long incoming)
    {
        if (incoming == 0)
        {
            return;
        }

        var space = disk.Probe(models);
        var reserve = settings.ReserveFor(space.TotalBytes);
        if (space.FreeBytes - pending - incoming < reserve)
        {
            throw new InvalidOperationException(
                $"not enough disk space on node {node} for the weights of repo '{repo}' ({HubWeightsResolver.Size(incoming)}): "
                + $"{HubWeightsResolver.Size(Math.Max(0, space.FreeBytes - pending))} free, and the node keeps {HubWeightsResolver.Size(reserve)} free "
                + "(DeepDeploy:Node:FreeSpaceReserveBytes)");
        }
    }
}

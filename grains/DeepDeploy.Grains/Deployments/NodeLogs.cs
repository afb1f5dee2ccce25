using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Deployments;

/// <summary>A deployment's logs are spread over the nodes that ran its instances: asks each of them.</summary>
public static class NodeLogs
{
    /// <summary>The logs of <paramref name="deployId"/> on every node; an unreachable node shows as one entry saying so.</summary>
    public static async Task<IReadOnlyList<InstanceLog>> CollectAsync(IGrainFactory grains, string deployId, IEnumerable<string> nodes, int lines)
    {
        var logs = new List<InstanceLog>();
        foreach (var node in nodes.Distinct())
        {
            try
            {
                logs.AddRange(await grains.GetGrain<IGpuNodeGrain>(node).GetLogs(deployId, lines));
            }
            catch (Exception e)
            {
                logs.Add(new InstanceLog($"{node}: unreachable", node, false, [e.Message]));
            }
        }

        return logs;
    }
}

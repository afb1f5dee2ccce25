using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Grains.Nodes;

/// <summary>The host service that runs engine processes on a GPU host. The node grain commands it; both
/// calls return at once and the agent reports progress to the grains later, from its own threads.</summary>
public interface INodeAgent
{
    string NodeName { get; }

    void Launch(InstanceLaunch launch, IReadOnlyList<int> gpuIndices);

    void Stop(string instanceId, string deployId);

    /// <summary>The last <paramref name="lines"/> lines of output of a deployment's instances, live and lately ended.</summary>
    IReadOnlyList<InstanceLog> GetLogs(string deployId, int lines);
}

namespace DeepDeploy.Contracts.Nodes;

/// <summary>One GPU host, keyed by node name. Lives on the silo of that host; owns which instance holds
/// which GPU and commands the host's node agent.</summary>
public interface IGpuNodeGrain : IGrainWithStringKey
{
    /// <summary>Called by the node agent at start. Returns the allocations of an earlier run: their
    /// processes are gone, so the agent reports them as exited.</summary>
    Task<IReadOnlyList<NodeAllocation>> Register(NodeInfo info);

    /// <summary>Reserves GPUs and starts the instance; null when the node lacks free GPUs of that type.</summary>
    Task<NodeAllocation?> StartInstance(InstanceLaunch launch);

    /// <summary>Asks the agent to stop the instance; it reports the end later. False when this node holds
    /// no such instance (nothing will be reported).</summary>
    Task<bool> StopInstance(string instanceId);

    /// <summary>The agent reports that an instance's process is gone: its GPUs are free again.</summary>
    Task InstanceGone(string instanceId);

    Task<NodeCapacity?> GetCapacity();

    /// <summary>Every GPU of the node by index with its holder, for the operator (null: not registered yet).</summary>
    Task<IReadOnlyList<GpuHolding>?> GetGpus();

    /// <summary>Recent output of a deployment's instances on this node (live and lately ended).</summary>
    Task<IReadOnlyList<DeepDeploy.Contracts.Deployments.InstanceLog>> GetLogs(string deployId, int lines);
}

namespace DeepDeploy.Contracts.Nodes;

/// <summary>Why a registered node does or does not take instances.</summary>
public enum NodeState
{
    /// <summary>Its agent reports and its silo is in the cluster: placement may use it.</summary>
    Live = 0,

    /// <summary>Its lease expired (no report in time): out of placement until its agent registers again.</summary>
    Lost = 1,

    /// <summary>The cluster declared its silo dead.</summary>
    SiloDown = 2,
}

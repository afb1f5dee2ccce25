namespace DeepDeploy.Grains.Nodes;

/// <summary>How the node registry expires leases when many run out together (section DeepDeploy:NodeRegistry). A
/// registry whose own silo stalls hears no heartbeat for a while and would otherwise read its stall as the loss of the
/// whole fleet, whose re-registration then feeds the stall (session 11). As Kubernetes' node lifecycle controller
/// rate-limits evictions and stops them when most of a zone looks down, the registry expires few leases at a time and
/// none when most of the fleet looks lost at once. Cluster membership still declares a dead silo's nodes lost.</summary>
public sealed class NodeRegistryOptions
{
    /// <summary>At most this share of the reporting nodes (always at least one node) loses its lease per lease period;
    /// the rest stay expired-but-kept and are judged again at the next checks, longest silent first. Default 0.1.</summary>
    public double MaxExpiredShare { get; set; } = 0.1;

    /// <summary>When more than this share of the reporting nodes (and at least <see cref="StallMinNodes"/>) would lose
    /// their lease at once, none does: the registry suspects a stall on its own side, logs it and counts it
    /// (metric <c>deepdeploy.node_registry.stalls_suspected</c>). Default 0.5.</summary>
    public double StallShare { get; set; } = 0.5;

    /// <summary>The fewest nodes whose expiry at once can be a suspected stall (below it, a small cluster's loss of
    /// most of its nodes is a loss; Kubernetes uses more than two). Default 3.</summary>
    public int StallMinNodes { get; set; } = 3;
}

namespace DeepDeploy.Contracts.Events;

/// <summary>What a <see cref="DeploymentEvent"/> reports; the API writes them in snake case.</summary>
public enum DeploymentEventKind
{
    StatusChanged,
    ScalingDecision,
    Placed,
    InstancePhase,
    InstanceRestarted,
    Failed,
    BillingStopped,
    BillingResumed,
    SettingsChanged,

    /// <summary>Instances wanted but not placed (running N of wanted M, and why: no free GPUs in fair order, the
    /// owner's GPU limit), or none missing any more.</summary>
    CapacityWait,
}

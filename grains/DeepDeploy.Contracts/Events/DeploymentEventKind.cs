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
}

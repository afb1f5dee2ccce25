namespace DeepDeploy.Gateway.Inference;

/// <summary>The answer of <see cref="DeploymentLane.AcquireAsync"/>: a lease, or why not.</summary>
public readonly record struct Admission(AdmissionOutcome Outcome, SlotLease? Lease = null)
{
    public static Admission Of(AdmissionOutcome outcome) => new(outcome);
}

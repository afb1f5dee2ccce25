namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// How many instances a deployment's load asks for: the replaceable part of the autoscaler, one instance per
/// deployment activation (it may keep a history of the load). <see cref="InstanceDemand"/> feeds it the gateways'
/// total load and applies min_instances, max_instances and the cold-start floor around its answer. Chosen by
/// <see cref="AutoscalerOptions.Policy"/> (<see cref="ScalingPolicies"/>).
/// </summary>
public interface IScalingPolicy
{
    /// <summary>The gateways' total load (in flight + waiting) after a report: the input of policies with memory.</summary>
    void Observe(int load, DateTimeOffset now);

    /// <summary>What the load alone asks for now, at least <see cref="ScalingInput.Floor"/>, with no stabilization.</summary>
    int Target(ScalingInput input);

    /// <summary>Instances to run now, given <see cref="ScalingInput.Current"/> live ones: the policy's stabilization
    /// decides when a lower target is obeyed.</summary>
    int Desired(ScalingInput input);

    /// <summary>min/max changed: instances the load does not need go without waiting for a window.</summary>
    void SettingsChanged();
}

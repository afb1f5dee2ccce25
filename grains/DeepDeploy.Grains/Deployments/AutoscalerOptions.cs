namespace DeepDeploy.Grains.Deployments;

/// <summary>How deployments scale between min and max instances (section DeepDeploy:Autoscaler).</summary>
public sealed class AutoscalerOptions
{
    /// <summary>The scaling policy: <c>Utilization</c> (default) or <c>Slo</c> (<see cref="ScalingPolicies"/>).</summary>
    public string Policy { get; set; } = ScalingPolicies.Utilization;

    /// <summary>Utilization policy: share of max_batch_size an instance should carry: desired = ceil(load / (max_batch_size × this)).</summary>
    public double TargetUtilization { get; set; } = 0.8;

    /// <summary>Utilization policy: how long the load must stay low before instances are removed.</summary>
    public TimeSpan ScaleDownCooldown { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The SLO policy's settings (section DeepDeploy:Autoscaler:Slo).</summary>
    public SloPolicyOptions Slo { get; set; } = new();

    /// <summary>A min_instances 0 deployment keeps one instance this long after its last request.</summary>
    public TimeSpan IdleBeforeScaleToZero { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Between taking an instance out of the routes and stopping it, so that no gateway sends it new work.</summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.FromSeconds(2);
}

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// The first policy (<c>Utilization</c>, the default): <c>ceil(load / (max_batch_size × TargetUtilization))</c>
/// instances; up at once, down only after the load stayed low for <see cref="AutoscalerOptions.ScaleDownCooldown"/>.
/// Simple and predictable; it pays for the cooldown in GPU time after every burst.
/// </summary>
public sealed class UtilizationPolicy(AutoscalerOptions options) : IScalingPolicy
{
    DateTimeOffset? _lowSince;

    public void Observe(int load, DateTimeOffset now)
    {
    }

    public int Target(ScalingInput input) =>
        Math.Max(input.Floor, (int)Math.Ceiling(input.Load / (input.MaxBatchSize * options.TargetUtilization)));

    public int Desired(ScalingInput input)
    {
        var target = Target(input);
        if (target >= input.Current)
        {
            _lowSince = null;
            return target;
        }

        _lowSince ??= input.Now;
        return input.Now - _lowSince >= options.ScaleDownCooldown ? target : input.Current;
    }

    public void SettingsChanged() => _lowSince = DateTimeOffset.MinValue;
}

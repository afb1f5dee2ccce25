using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Deployments;

/// <summary>The <c>settings</c> object of a create or a <c>PUT</c>: how many instances to keep running.</summary>
public sealed record InstanceSettings(int? MinInstances, int? MaxInstances)
{
    public const int MaxInstancesLimit = 100;

    /// <summary>The rule on the values a deployment ends up with, whether given or defaulted.</summary>
    public static void Validate(int min, int max)
    {
        if (min < 0)
        {
            throw new BadRequestException("settings.min_instances", "'settings.min_instances' must be 0 or more.");
        }

        if (max < 1 || max < min)
        {
            throw new BadRequestException("settings.max_instances", "'settings.max_instances' must be at least 1 and at least min_instances.");
        }

        if (max > MaxInstancesLimit)
        {
            throw new BadRequestException("settings.max_instances", $"'settings.max_instances' must be at most {MaxInstancesLimit}.");
        }
    }
}

using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Used by a deployment grain: the durable wake-up of a live deployment, so that it comes back by itself if its silo
/// is lost. Registered at an activation's first tick (older deployments get theirs that way too) and tried again at
/// the next one while the reminder service is not ready; a finished deployment with nothing left to stop lets it go.
/// </summary>
public sealed class WakeReminder(IGrainBase grain, string deployId, ILogger log)
{
    /// <summary>The reminder's name.</summary>
    const string Name = "wake";

    /// <summary>Orleans' shortest reminder period.</summary>
    static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    bool _awake;

    public async Task KeepAwakeAsync()
    {
        if (_awake)
        {
            return;
        }

        try
        {
            await grain.RegisterOrUpdateReminder(Name, Period, Period);
            _awake = true;
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not register the wake-up reminder of {DeployId}; trying again at the next tick", deployId);
        }
    }

    public async Task SleepAsync()
    {
        if (await grain.GetReminder(Name) is { } reminder)
        {
            await grain.UnregisterReminder(reminder);
        }

        _awake = false;
    }
}

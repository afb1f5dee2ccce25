using DeepDeploy.Contracts.Nodes;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>
/// Used by a deployment grain: stopping instances without cutting requests. An instance leaves the routes first
/// (draining) and gets its stop request once its drain delay passed; the request is sent again until its end is
/// reported, and an instance its node no longer holds is forgotten at once.
/// </summary>
public sealed class InstanceStops(IGrainFactory grains, TimeProvider time, InstanceLifecycle lifecycle, ILogger log)
{
    /// <summary>A stop request not answered by the instance's end is sent again after this long.</summary>
    static readonly TimeSpan StopResend = TimeSpan.FromSeconds(15);

    /// <summary>Takes instances out of the routes; their stop requests go out once <paramref name="delay"/> passed.</summary>
    public void Drain(IEnumerable<InstanceRecord> instances, TimeSpan delay)
    {
        var now = time.GetUtcNow();
        foreach (var instance in instances.Where(i => !i.Stopping || i.DrainUntil > now + delay))
        {
            instance.Stopping = true;
            instance.DrainUntil = now + delay;
        }
    }

    /// <summary>Sends the stop requests that are due: drained, and not sent or not answered for a while.</summary>
    public async Task SendAsync(DeploymentState s)
    {
        var now = time.GetUtcNow();
        foreach (var instance in s.Instances.Values.Where(i => i.Stopping && i.DrainUntil <= now && (i.StopSentAt is null || now - i.StopSentAt > StopResend)).ToList())
        {
            try
            {
                instance.StopSentAt = now;
                if (!await grains.GetGrain<IGpuNodeGrain>(instance.Node).StopInstance(instance.Id))
                {
                    // The node no longer holds it (e.g. it restarted): nothing will report its end.
                    await lifecycle.ForgetAsync(s, instance, failed: false, "stopped (not on its node)");
                }
            }
            catch (Exception e)
            {
                // The node is unreachable; the request is sent again later.
                log.LogWarning(e, "Could not stop instance {InstanceId} on {Node}", instance.Id, instance.Node);
            }
        }
    }
}

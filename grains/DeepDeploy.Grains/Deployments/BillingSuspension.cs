using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Deployments;
using DeepDeploy.Contracts.Events;
using DeepDeploy.Grains.Events;
using Microsoft.Extensions.Logging;

namespace DeepDeploy.Grains.Deployments;

/// <summary>Used by a deployment grain: the owner's billing standing stops a running deployment and resumes one that
/// billing (not its owner) stopped, once the spending limit allows it again.</summary>
public static class BillingSuspension
{
    public static void Apply(string deployId, DeploymentState s, BillingStanding standing, DeploymentEvents events, TimeProvider time, ILogger log)
    {
        if (s.Suspended && standing.MayRun && s.Status == DeploymentStatus.Stopped)
        {
            log.LogInformation("Deployment {DeployId} resumes: the spending limit allows it again", deployId);
            events.Add(DeploymentEventKind.BillingResumed, "resumed: the spending limit allows it again");
            s.Suspended = false;
            s.SetStatus(DeploymentStatus.Initializing, null, time.GetUtcNow());
            s.RefreshStatus(time.GetUtcNow());
        }
        else if (!standing.MayRun && !s.IsFinished)
        {
            s.Suspended = true;
            s.SetStatus(DeploymentStatus.Stopped, standing.Reason, time.GetUtcNow());
            events.Add(DeploymentEventKind.BillingStopped, $"stopped by billing: {standing.Reason}", e => e with { Reason = standing.Reason });
        }
    }
}

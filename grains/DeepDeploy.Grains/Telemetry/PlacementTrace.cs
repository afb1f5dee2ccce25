using System.Diagnostics;

namespace DeepDeploy.Grains.Telemetry;

/// <summary>
/// Ties a deployment's placements to the request that asked for them. A create, start or scale returns at once and
/// the control loop places the instances on a later timer tick, in a trace of its own; the request's span context is
/// kept in memory with the pending change, and each tick's placement span (<c>deepdeploy.deployment.place</c>,
/// ActivitySource <see cref="SourceName"/>) links to it until the deployment has the instances it wants. Placements
/// nobody asked for (autoscaling, replacements) have no such span: their grain calls trace as before.
/// </summary>
public sealed class PlacementTrace
{
    public const string SourceName = "DeepDeploy.ControlPlane";

    static readonly ActivitySource Source = new(SourceName);

    ActivityContext? _cause;

    /// <summary>A change that may need placements was made in the current span (none when tracing is off).</summary>
    public void Requested()
    {
        if (Activity.Current is { } current)
        {
            _cause = current.Context;
        }
    }

    /// <summary>The span of a tick's placements while <paramref name="live"/> instances fall short of
    /// <paramref name="desired"/> for a request; null otherwise, and a tick that lacks nothing ends the wait.</summary>
    public Activity? Start(string deployId, int live, int desired)
    {
        if (live >= desired)
        {
            _cause = null;
            return null;
        }

        if (_cause is not { } cause)
        {
            return null;
        }

        var activity = Source.StartActivity("deepdeploy.deployment.place", ActivityKind.Internal, parentContext: default, links: [new ActivityLink(cause)]);
        activity?.SetTag(TelemetryTags.DeploymentId, deployId).SetTag("deepdeploy.instances.missing", desired - live);
        return activity;
    }
}

using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace DeepDeploy.Gateway.Inference;

/// <summary>The gateway's spans (ActivitySource <see cref="SourceName"/>): admission, i.e. the wait for a slot.
/// The server span is ASP.NET Core's and the forward span HttpClient's; this adds the inference attributes.</summary>
public static class GatewayActivity
{
    public const string SourceName = "DeepDeploy.Gateway";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The wait for a slot on an instance of <paramref name="lane"/>; null when nobody listens.</summary>
    public static Activity? StartAdmission(DeploymentLane lane, bool retry)
    {
        var activity = Source.StartActivity("deepdeploy.admission");
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(InferenceMetrics.ModelKey, lane.Model);
            activity.SetTag("deepdeploy.deployment.id", lane.DeployId);
            activity.SetTag("deepdeploy.retry", retry);
        }

        return activity;
    }

    /// <summary>Names the request on the server span (ASP.NET Core's, current while the handler runs).</summary>
    public static void Describe(Activity? server, DeploymentLane lane, string operation)
    {
        if (IsRecorded(server))
        {
            server.SetTag(InferenceMetrics.OperationKey, operation);
            server.SetTag(InferenceMetrics.ModelKey, lane.Model);
            server.SetTag("deepdeploy.deployment.id", lane.DeployId);
        }
    }

    /// <summary>Whether a listener records <paramref name="activity"/>. ASP.NET Core starts a server activity for
    /// its logging scope even when nothing traces (its source has no listener then): tags on it would be
    /// allocations nobody reads.</summary>
    public static bool IsRecorded([NotNullWhen(true)] Activity? activity) =>
        activity is { IsAllDataRequested: true } && activity.Source.HasListeners();
}

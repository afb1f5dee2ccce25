using System.Diagnostics;
using DeepDeploy.Contracts.Nodes;

namespace DeepDeploy.Node;

/// <summary>
/// The node's spans (ActivitySource <see cref="SourceName"/>): an instance's launch, from the grain call that asked
/// for it to a healthy engine, with its weights fetch and engine start as children. What follows (supervision,
/// restarts) is not part of that trace: a restart's engine start is a trace of its own.
/// </summary>
public static class NodeActivity
{
    public const string SourceName = "DeepDeploy.Node";

    static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the launch span as a child of the caller's span, and leaves no span current after it.</summary>
    public static Activity? StartLaunch(InstanceLaunch launch, string node)
    {
        var parent = Activity.Current?.Context ?? default;
        Activity.Current = null;
        var activity = Source.StartActivity("deepdeploy.node.launch", ActivityKind.Internal, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("deepdeploy.deployment.id", launch.DeployId);
            activity.SetTag("deepdeploy.instance.id", launch.InstanceId);
            activity.SetTag("deepdeploy.node", node);
            activity.SetTag("gen_ai.request.model", launch.ModelName);
        }

        return activity;
    }

    /// <summary>A step of the launch (or of a restart): a child of the current span, or a root.</summary>
    public static Activity? Start(string name, InstanceLaunch launch)
    {
        var activity = Source.StartActivity(name);
        activity?.SetTag("deepdeploy.instance.id", launch.InstanceId);
        return activity;
    }

    /// <summary>Ends a span as failed when <paramref name="error"/> is set.</summary>
    public static void End(Activity? activity, string? error)
    {
        if (activity is null)
        {
            return;
        }

        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error);
        }

        activity.Dispose();
    }
}

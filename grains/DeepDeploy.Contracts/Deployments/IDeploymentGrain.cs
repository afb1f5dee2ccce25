namespace DeepDeploy.Contracts.Deployments;

/// <summary>One deployment, keyed by its deploy id: spec, status and instances; reconciles running
/// instances towards the desired count.</summary>
public interface IDeploymentGrain : IGrainWithStringKey
{
    /// <summary>The whole create flow: the instance must fit a node, the owner's spending limit must allow it,
    /// the owner must have an account whose GPU limit holds one instance, and the name must be free. Seals the
    /// Hugging Face token. Refusals come back as errors; on any failure after the name was claimed, the claim is released.</summary>
    Task<DeploymentResult> Create(NewDeployment request);

    Task<DeploymentView?> Get();

    /// <summary>Stops every instance and marks the deployment deleted. False when it was already deleted or never existed.</summary>
    Task<bool> Delete();

    /// <summary>Changes min/max instances; the control loop acts on it at once. Scaling up is refused when the
    /// owner's spending limit is reached.</summary>
    Task<DeploymentResult> UpdateSettings(int minInstances, int maxInstances);

    /// <summary>Stops every instance and keeps the deployment (status stopped). Null when there is no such deployment.</summary>
    Task<DeploymentView?> Stop();

    /// <summary>Runs a stopped or failed deployment again (failed ones resolve their weights again); refused
    /// when the owner's spending limit is reached.</summary>
    Task<DeploymentResult> Start();

    /// <summary>Recent output of its instances, live and lately ended, from their nodes.</summary>
    Task<IReadOnlyList<InstanceLog>> GetLogs(int lines);

    /// <summary>A node's report about one of this deployment's instances.</summary>
    Task OnInstanceUpdate(InstanceUpdate update);

    /// <summary>Activates the grain so that it reconciles at once (e.g. its instances' node was lost).</summary>
    Task Wake();

    /// <summary>The node registry let <paramref name="node"/>'s lease expire: its instances are lost, their meters end
    /// at the node's <paramref name="lastReport"/>, and replacements go elsewhere.</summary>
    Task NodeLost(string node, DateTimeOffset lastReport);

    /// <summary>Cold start: a gateway holds requests and no instance serves. A min_instances 0 deployment then
    /// runs one instance until it has been idle for a while.</summary>
    Task RequestInstance();

    /// <summary>A gateway's periodic load report (in flight, waiting, refused), for scale-to-zero and the autoscaler.</summary>
    Task ReportLoad(GatewayLoad load);
}

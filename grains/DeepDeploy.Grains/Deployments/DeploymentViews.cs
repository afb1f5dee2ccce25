using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Grains.Deployments;

/// <summary>The deploy object a user reads, built from a deployment's state and its current decisions.</summary>
public static class DeploymentViews
{
    /// <param name="target">The instances the deployment wants now (asked only of a live deployment).</param>
    /// <param name="capacityPending">Why instances wait for GPUs, if they do.</param>
    public static DeploymentView Of(string deployId, DeploymentState s, Func<DeploymentSpec, int> target, string? capacityPending)
    {
        var spec = s.Spec!;
        var running = s.Instances.Values.Count(i => i.Phase == InstancePhase.Running && !i.Stopping);
        var pending = s.IsFinished ? 0 : Math.Max(0, target(spec) - running);
        return new DeploymentView(deployId, spec.ModelName, spec.Owner, s.Status, s.FailReason, s.CreatedAt, s.UpdatedAt,
            running, pending, spec.Gpu, spec.NumGpus, spec.MaxBatchSize, spec.HfRepo, spec.HfRevision,
            spec.MinInstances, spec.MaxInstances, spec.Quantization, s.WeightsFile,
            s.Status == DeploymentStatus.Downloading ? s.SlowestDownload() : null,
            s.IsFinished ? null : capacityPending);
    }
}

namespace DeepDeploy.Grains.Deployments;

/// <summary>The <see cref="SloPolicy"/>'s settings (section DeepDeploy:Autoscaler:Slo). Defaults follow Knative's
/// autoscaler (6 s panic window, 60 s stable window); the lead is about a GPU instance's start-up time.</summary>
public sealed class SloPolicyOptions
{
    /// <summary>Share of max_batch_size an instance carries before requests wait (1: a full batch, no queue).</summary>
    public double TargetConcurrency { get; set; } = 1.0;

    /// <summary>The peak load of this window bounds scale-down: a burst keeps its instances between its waves.</summary>
    public TimeSpan PanicWindow { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>The window over which the load's trend is measured.</summary>
    public TimeSpan StableWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How far ahead a rising trend keeps instances: about the time a new instance needs to serve.</summary>
    public TimeSpan ScaleDownLead { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Surge while requests wait: this share of the instances the queue alone needs
    /// (<c>floor(QueueSurge × waiting / max_batch_size)</c>: whole instances, so a request held for a cold start adds
    /// none) on top of the load's need, kept only while a queue stands. Instances of one scale-up do not all serve at
    /// once; with a surge the first to serve carry the burst and the slowest do not decide when its queue drains.
    /// 0: none.</summary>
    public double QueueSurge { get; set; } = 0.5;
}

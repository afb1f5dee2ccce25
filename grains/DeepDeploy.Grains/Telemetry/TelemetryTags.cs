namespace DeepDeploy.Grains.Telemetry;

/// <summary>Attribute keys of the metric naming contract (docs/observability.md) that the control plane and nodes use.</summary>
public static class TelemetryTags
{
    public const string Model = "gen_ai.request.model";
    public const string Reason = "deepdeploy.reason";
    public const string DeploymentId = "deepdeploy.deployment.id";
    public const string InstanceStatus = "deepdeploy.instance.status";
    public const string Node = "deepdeploy.node";
    public const string GpuType = "deepdeploy.gpu.type";
    public const string GpuState = "deepdeploy.gpu.state";
    public const string User = "deepdeploy.user";
    public const string CacheResult = "deepdeploy.cache.result";
    public const string ScaleFrom = "deepdeploy.scale.from";
    public const string ScaleTo = "deepdeploy.scale.to";

    /// <summary>What made a deployment decide when it did (ScaleTrigger: gateway_queue, periodic_report, ...).</summary>
    public const string ScaleTrigger = "deepdeploy.scale.trigger";

    /// <summary>How a node answered a placement: placed, already_placed, taken_recently, no_room.</summary>
    public const string StartOutcome = "deepdeploy.start.outcome";
}

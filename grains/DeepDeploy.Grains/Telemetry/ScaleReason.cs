namespace DeepDeploy.Grains.Telemetry;

/// <summary>The values of <c>deepdeploy.reason</c> on an autoscaler decision, from what bounds the answer:
/// min_instances, max_instances, cold_start (a request woke a deployment with none), idle (down to zero after the
/// idle time), load (the gateways' reported load, after the cooldown on the way down).</summary>
public static class ScaleReason
{
    public static string Of(int from, int to, int minInstances, int maxInstances) =>
        to > from
            ? to <= minInstances ? "min_instances" : from == 0 ? "cold_start" : "load"
            : from > maxInstances ? "max_instances" : to == 0 ? "idle" : "load";
}

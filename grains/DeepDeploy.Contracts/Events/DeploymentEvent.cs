using DeepDeploy.Contracts.Deployments;

namespace DeepDeploy.Contracts.Events;

/// <summary>
/// One thing that happened to a deployment, with the fields that explain it (null when they do not apply).
/// <see cref="Sequence"/> is given by the log that keeps the event: per deployment in its own log, per cluster
/// in the operators' feed; 0 until then.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentEvent(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset Time,
    [property: Id(2)] DeploymentEventKind Kind,
    [property: Id(3)] string DeployId,
    [property: Id(4)] string Message)
{
    [Id(5)] public DeploymentStatus? FromStatus { get; init; }
    [Id(6)] public DeploymentStatus? ToStatus { get; init; }

    /// <summary>Scaling inputs: requests in flight and waiting over all gateways, live instances, the target.</summary>
    [Id(7)] public int? Load { get; init; }
    [Id(8)] public int? Instances { get; init; }
    [Id(9)] public int? Target { get; init; }
    [Id(10)] public string? Reason { get; init; }

    /// <summary>What made the deployment decide when it did: gateway_queue, gateway_in_flight, periodic_report,
    /// cold_start, settings or control_loop (<c>ScaleTrigger</c>).</summary>
    [Id(22)] public string? Trigger { get; init; }

    [Id(11)] public string? Node { get; init; }
    [Id(12)] public IReadOnlyList<int>? Gpus { get; init; }
    [Id(13)] public string? InstanceId { get; init; }
    [Id(14)] public InstancePhase? Phase { get; init; }
    [Id(15)] public int? RestartCount { get; init; }
    [Id(16)] public string? FailureReason { get; init; }

    [Id(17)] public int? MinInstancesBefore { get; init; }
    [Id(18)] public int? MaxInstancesBefore { get; init; }
    [Id(19)] public int? MinInstancesAfter { get; init; }
    [Id(20)] public int? MaxInstancesAfter { get; init; }

    /// <summary>The deployment's owner: the operators' feed shows whose it is.</summary>
    [Id(21)] public string? Owner { get; init; }
}

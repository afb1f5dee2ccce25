using DeepDeploy.Contracts.Events;

namespace DeepDeploy.Grains.Events;

/// <summary>The last events of a log, oldest first, and the last sequence number given.</summary>
[GenerateSerializer]
public sealed class EventLogState
{
    [Id(0)] public List<DeploymentEvent> Events { get; set; } = [];
    [Id(1)] public long LastSequence { get; set; }
}

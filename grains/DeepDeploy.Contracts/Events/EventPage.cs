namespace DeepDeploy.Contracts.Events;

/// <summary>Events after a sequence number, oldest first, and the newest sequence number the log has given.</summary>
[GenerateSerializer, Immutable]
public sealed record EventPage(
    [property: Id(0)] IReadOnlyList<DeploymentEvent> Events,
    [property: Id(1)] long LastSequence);

namespace DeepDeploy.Contracts.Events;

/// <summary>One line an engine process wrote, as its node read it (secret masked, cut at
/// <see cref="EventStreams.MaxLineLength"/> characters).</summary>
[GenerateSerializer, Immutable]
public sealed record LogLine(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] DateTimeOffset Time,
    [property: Id(2)] string Text,
    [property: Id(3)] bool Truncated);

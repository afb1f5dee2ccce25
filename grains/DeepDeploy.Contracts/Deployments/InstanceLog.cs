namespace DeepDeploy.Contracts.Deployments;

/// <summary>The recent output (stdout and stderr) of one instance's engine process.</summary>
[GenerateSerializer, Immutable]
public sealed record InstanceLog(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string Node,
    [property: Id(2)] bool Live,
    [property: Id(3)] IReadOnlyList<string> Lines);

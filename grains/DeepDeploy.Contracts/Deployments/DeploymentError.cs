namespace DeepDeploy.Contracts.Deployments;

/// <summary>Why a deployment refused a request: a stable <see cref="Code"/>, a message for people and the
/// request field it is about, if any.</summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentError(
    [property: Id(0)] DeploymentErrorKind Kind,
    [property: Id(1)] string Code,
    [property: Id(2)] string Message,
    [property: Id(3)] string? Field = null);

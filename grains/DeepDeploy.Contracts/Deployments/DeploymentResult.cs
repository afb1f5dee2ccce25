namespace DeepDeploy.Contracts.Deployments;

/// <summary>The deployment after a request, or why it refused: exactly one of the two is set.</summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentResult(
    [property: Id(0)] DeploymentView? View,
    [property: Id(1)] DeploymentError? Error)
{
    public static DeploymentResult Ok(DeploymentView view) => new(view, null);

    public static DeploymentResult Refused(DeploymentError error) => new(null, error);
}

namespace DeepDeploy.Contracts.Deployments;

/// <summary>What a user asks to deploy, as a client sends it: the spec (its <see cref="DeploymentSpec.HfTokenProtected"/>
/// is null) and the Hugging Face token in clear text, which the deployment grain seals into the spec it stores.</summary>
[GenerateSerializer, Immutable]
public sealed record NewDeployment(
    [property: Id(0)] DeploymentSpec Spec,
    [property: Id(1)] string? HfToken);

namespace DeepDeploy.Gateway.Deployments;

/// <summary>The JSON of <c>PUT /deploy/{deploy_id}</c> as the OpenAPI document shows it: only settings change.</summary>
public sealed record UpdateBody(DeployBody.InstanceSettings Settings);

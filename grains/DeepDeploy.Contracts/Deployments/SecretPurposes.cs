namespace DeepDeploy.Contracts.Deployments;

/// <summary>Data Protection purposes: what protects a secret must be what unprotects it.</summary>
public static class SecretPurposes
{
    public const string HfToken = "DeepDeploy.HfToken.v1";
}

using System.Security.Cryptography;

namespace DeepDeploy.Contracts.Deployments;

/// <summary>Deploy ids: the keys of deployment grains, chosen by the client that creates one.</summary>
public static class DeploymentIds
{
    /// <summary>A fresh random id (20 lower-case hex digits).</summary>
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));
}

namespace DeepDeploy.Gateway.Inference;

/// <summary>This gateway process's id in the route directory's list of live gateways.</summary>
public sealed class GatewayIdentity
{
    public string Id { get; } = $"{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
}

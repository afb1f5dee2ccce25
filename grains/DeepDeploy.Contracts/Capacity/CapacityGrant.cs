namespace DeepDeploy.Contracts.Capacity;

/// <summary>The arbiter's answer: how many more instances the deployment may place now; when none, how many waiting
/// deployments go before it and why it waits (no other tenant's name or holding is in it).</summary>
[GenerateSerializer, Immutable]
public sealed record CapacityGrant(
    [property: Id(0)] int Instances,
    [property: Id(1)] int Ahead,
    [property: Id(2)] string? Reason)
{
    public static readonly CapacityGrant None = new(0, 0, null);
}

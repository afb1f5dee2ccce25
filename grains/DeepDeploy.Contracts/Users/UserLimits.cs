namespace DeepDeploy.Contracts.Users;

/// <summary>An operator's change to a user's limits; a null field is left as it is.</summary>
[GenerateSerializer, Immutable]
public sealed record UserLimits(
    [property: Id(0)] int? GpuLimit,
    [property: Id(1)] int? MaxDeployments,
    [property: Id(2)] int? MaxConcurrentRequests)
{
    /// <summary>Live (not deleted) deployments a user may have unless the operator sets another limit: each
    /// one holds a reminder and a control-loop timer, so the count is bounded.</summary>
    public const int DefaultMaxDeployments = 10;

    /// <summary>Inference requests a user may have in flight at one gateway, across all of their models, unless
    /// the operator sets another limit: bounds one tenant's share of a gateway's memory and connections. Above one
    /// deployment's admission ceiling (DeepDeploy:Inference:MaxConcurrentRequests, 200), so that a user with one
    /// deployment meets that deployment's own 429s first.</summary>
    public const int DefaultMaxConcurrentRequests = 256;
}

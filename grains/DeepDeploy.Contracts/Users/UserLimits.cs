namespace DeepDeploy.Contracts.Users;

/// <summary>An operator's change to a user's limits; a null field is left as it is.</summary>
[GenerateSerializer, Immutable]
public sealed record UserLimits(
    [property: Id(0)] int? GpuLimit,
    [property: Id(1)] int? MaxDeployments,
    [property: Id(2)] int? MaxConcurrentRequests,
    [property: Id(3)] long? MaxRequestBytes = null,
    [property: Id(4)] int? MaxColdStartRequests = null)
{
    /// <summary>Live (not deleted) deployments a user may have unless the operator sets another limit: each
    /// one holds a reminder and a control-loop timer, so the count is bounded.</summary>
    public const int DefaultMaxDeployments = 10;

    /// <summary>Inference requests a user may have in flight at one gateway, across all of their models, unless
    /// the operator sets another limit: bounds one tenant's share of a gateway's memory and connections. Above one
    /// deployment's admission ceiling (DeepDeploy:Inference:MaxConcurrentRequests, 200), so that a user with one
    /// deployment meets that deployment's own 429s first.</summary>
    public const int DefaultMaxConcurrentRequests = 256;

    /// <summary>Bytes of request bodies one gateway holds for a user at once (read, waiting or being forwarded), unless the
    /// operator sets another limit: sixteen bodies of the largest size (4 MiB), so one tenant cannot fill a gateway's memory.</summary>
    public const long DefaultMaxRequestBytes = 64L * 1024 * 1024;

    /// <summary>A user's requests a gateway holds while their deployment has no instance yet (a cold start can take
    /// minutes), unless the operator sets another limit.</summary>
    public const int DefaultMaxColdStartRequests = 32;
}

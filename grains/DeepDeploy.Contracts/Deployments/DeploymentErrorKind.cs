namespace DeepDeploy.Contracts.Deployments;

/// <summary>What kind of refusal a <see cref="DeploymentError"/> is; an HTTP client maps it to a status class.</summary>
public enum DeploymentErrorKind
{
    /// <summary>The request cannot work as asked (400).</summary>
    Invalid,

    /// <summary>The spending limit forbids running more (402).</summary>
    PaymentRequired,

    /// <summary>No account, or over its GPU limit (403).</summary>
    Forbidden,

    /// <summary>No such deployment (404).</summary>
    NotFound,

    /// <summary>The name is taken by a live deployment (409).</summary>
    Conflict,
}

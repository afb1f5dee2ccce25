using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Users;

/// <summary>The JSON of <c>PUT /admin/users/{name}/quota</c>: any of the user's limits; an absent one is unchanged.</summary>
public sealed record QuotaBody(int? GpuLimit, int? MaxDeployments, int? MaxConcurrentRequests)
{
    public const int MaxGpuLimit = 100_000;

    public const int MaxDeploymentsLimit = 10_000;

    public const int MaxConcurrentRequestsLimit = 100_000;

    /// <summary>The limits, checked.</summary>
    public UserLimits Validate()
    {
        if (GpuLimit is null && MaxDeployments is null && MaxConcurrentRequests is null)
        {
            throw new BadRequestException("gpu_limit", "Give at least one of 'gpu_limit', 'max_deployments', 'max_concurrent_requests'.", "missing_field");
        }

        return new UserLimits(
            InRange(GpuLimit, "gpu_limit", MaxGpuLimit),
            InRange(MaxDeployments, "max_deployments", MaxDeploymentsLimit),
            InRange(MaxConcurrentRequests, "max_concurrent_requests", MaxConcurrentRequestsLimit));
    }

    static int? InRange(int? value, string field, int max) =>
        value is null || (value >= 0 && value <= max)
            ? value
            : throw new BadRequestException(field, $"'{field}' must be between 0 and {max}.");
}

using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Users;

/// <summary>The JSON of <c>PUT /admin/users/{name}/quota</c>: any of the user's limits; an absent one is unchanged.</summary>
public sealed record QuotaBody(int? GpuLimit, int? MaxDeployments, int? MaxConcurrentRequests, long? MaxRequestBytes = null, int? MaxColdStartRequests = null)
{
    public const int MaxGpuLimit = 100_000;

    public const int MaxDeploymentsLimit = 10_000;

    public const int MaxConcurrentRequestsLimit = 100_000;

    /// <summary>1 TiB: far above any gateway's memory, low enough that sums of bodies never overflow.</summary>
    public const long MaxRequestBytesLimit = 1L << 40;

    public const int MaxColdStartRequestsLimit = 100_000;

    /// <summary>The limits, checked.</summary>
    public UserLimits Validate()
    {
        if (GpuLimit is null && MaxDeployments is null && MaxConcurrentRequests is null && MaxRequestBytes is null && MaxColdStartRequests is null)
        {
            throw new BadRequestException("gpu_limit",
                "Give at least one of 'gpu_limit', 'max_deployments', 'max_concurrent_requests', 'max_request_bytes', 'max_cold_start_requests'.", "missing_field");
        }

        return new UserLimits(
            InRange(GpuLimit, "gpu_limit", MaxGpuLimit),
            InRange(MaxDeployments, "max_deployments", MaxDeploymentsLimit),
            InRange(MaxConcurrentRequests, "max_concurrent_requests", MaxConcurrentRequestsLimit),
            InRange(MaxRequestBytes, "max_request_bytes", MaxRequestBytesLimit),
            InRange(MaxColdStartRequests, "max_cold_start_requests", MaxColdStartRequestsLimit));
    }

    static T? InRange<T>(T? value, string field, T max) where T : struct, System.Numerics.INumber<T> =>
        value is not { } v || (v >= T.Zero && v <= max)
            ? value
            : throw new BadRequestException(field, $"'{field}' must be between 0 and {max}.");
}

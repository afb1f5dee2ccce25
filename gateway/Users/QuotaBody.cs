using DeepDeploy.Gateway.Http;

namespace DeepDeploy.Gateway.Users;

/// <summary>The JSON of <c>PUT /admin/users/{name}/quota</c>.</summary>
public sealed record QuotaBody(int? GpuLimit)
{
    public const int MaxGpuLimit = 100_000;

    /// <summary>The GPU limit, checked.</summary>
    public int Validate()
    {
        var limit = GpuLimit ?? throw new BadRequestException("gpu_limit", "'gpu_limit' is required.", "missing_field");
        return limit is >= 0 and <= MaxGpuLimit
            ? limit
            : throw new BadRequestException("gpu_limit", $"'gpu_limit' must be between 0 and {MaxGpuLimit}.");
    }
}

namespace DeepDeploy.Contracts.Users;

[GenerateSerializer, Immutable]
public sealed record UserView(
    [property: Id(0)] string Name,
    [property: Id(1)] int GpuLimit,
    [property: Id(2)] int GpusReserved,
    [property: Id(3)] IReadOnlyList<string> Deployments,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] int LiveDeployments,
    [property: Id(6)] int MaxDeployments,
    [property: Id(7)] int MaxConcurrentRequests,
    [property: Id(8)] long MaxRequestBytes = UserLimits.DefaultMaxRequestBytes,
    [property: Id(9)] int MaxColdStartRequests = UserLimits.DefaultMaxColdStartRequests);

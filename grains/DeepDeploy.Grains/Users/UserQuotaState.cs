namespace DeepDeploy.Grains.Users;

[GenerateSerializer]
public sealed class UserQuotaState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public int GpuLimit { get; set; }
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }
    [Id(3)] public Dictionary<string, int> Reservations { get; set; } = [];
    [Id(4)] public Dictionary<string, string> ModelNames { get; set; } = [];
    [Id(5)] public List<string> Deployments { get; set; } = [];

    /// <summary>The operator's limits; null means the documented default (<see cref="Contracts.Users.UserLimits"/>).</summary>
    [Id(6)] public int? MaxDeployments { get; set; }
    [Id(7)] public int? MaxConcurrentRequests { get; set; }
    [Id(8)] public long? MaxRequestBytes { get; set; }
    [Id(9)] public int? MaxColdStartRequests { get; set; }
}

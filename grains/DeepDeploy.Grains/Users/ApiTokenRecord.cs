namespace DeepDeploy.Grains.Users;

[GenerateSerializer]
public sealed class ApiTokenRecord
{
    [Id(0)] public string User { get; set; } = "";

    [Id(1)] public string Name { get; set; } = "";

    [Id(2)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The UTC day the token was last seen by the directory (a gateway's cache miss), so at most a day coarse.</summary>
    [Id(3)] public DateTimeOffset? LastUsedDay { get; set; }
}

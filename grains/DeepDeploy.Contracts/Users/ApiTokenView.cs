namespace DeepDeploy.Contracts.Users;

/// <summary>What anyone may see of an API token: never its secret nor its hash.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiTokenView(
    [property: Id(0)] string Name,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] DateTimeOffset? LastUsedDay);

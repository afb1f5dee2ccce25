namespace DeepDeploy.Contracts.Billing;

/// <summary>Metered use in [<see cref="From"/>, <see cref="To"/>): a line per deployment and GPU price, and their total.</summary>
[GenerateSerializer, Immutable]
public sealed record UsageReport(
    [property: Id(0)] DateTimeOffset From,
    [property: Id(1)] DateTimeOffset To,
    [property: Id(2)] IReadOnlyList<UsageLine> Lines,
    [property: Id(3)] decimal TotalUsd);

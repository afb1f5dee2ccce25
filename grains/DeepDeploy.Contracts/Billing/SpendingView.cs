namespace DeepDeploy.Contracts.Billing;

/// <summary>The spending limit of the current calendar month (UTC) and what was spent in it.</summary>
[GenerateSerializer, Immutable]
public sealed record SpendingView(
    [property: Id(0)] decimal? LimitUsd,
    [property: Id(1)] decimal SpentUsd,
    [property: Id(2)] DateTimeOffset PeriodStart,
    [property: Id(3)] DateTimeOffset PeriodEnd,
    [property: Id(4)] bool Warning,
    [property: Id(5)] bool Reached,
    [property: Id(6)] IReadOnlyList<BillingEvent> Events);

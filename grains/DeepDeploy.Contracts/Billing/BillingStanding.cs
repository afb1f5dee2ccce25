namespace DeepDeploy.Contracts.Billing;

/// <summary>Whether a user may run more: false once the spending limit of the period is reached.</summary>
[GenerateSerializer, Immutable]
public sealed record BillingStanding(
    [property: Id(0)] bool MayRun,
    [property: Id(1)] string? Reason);

namespace DeepDeploy.Contracts.Billing;

/// <summary>Something the user should know about their spending (80% warning, limit reached, resumed).</summary>
[GenerateSerializer, Immutable]
public sealed record BillingEvent(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Message);

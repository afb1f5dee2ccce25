using DeepDeploy.Contracts.Billing;

namespace DeepDeploy.Grains.Billing;

[GenerateSerializer]
public sealed class BillingLedgerState
{
    [Id(0)] public Dictionary<string, Meter> Meters { get; set; } = [];
    [Id(1)] public decimal? LimitUsd { get; set; }
    [Id(2)] public List<BillingEvent> Events { get; set; } = [];
    /// <summary>Start of the month whose 80% warning was already raised.</summary>
    [Id(3)] public DateTimeOffset? WarnedPeriod { get; set; }
    /// <summary>Start of the month whose limit was already reported as reached.</summary>
    [Id(4)] public DateTimeOffset? ReachedPeriod { get; set; }
}

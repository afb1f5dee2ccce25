namespace DeepDeploy.Contracts.Billing;

/// <summary>One user's money: GPU-time meters per instance, usage and weekly invoices, the spending limit.
/// Every event is idempotent per instance, so a repeated report never counts a second twice.</summary>
public interface IBillingLedgerGrain : IGrainWithStringKey
{
    Task MeterStart(MeterStart start);

    Task MeterStop(string instanceId, DateTimeOffset at);

    /// <summary>The instance stopped serving for a while (restarting): its meter closes until a renewal opens it again.</summary>
    Task MeterPause(string instanceId, DateTimeOffset at);

    /// <summary>Instances of a deployment still serving at <paramref name="at"/>. A meter nobody renews for
    /// <c>LeaseSeconds</c> is closed at its last renewal (the instance was lost with its reporter); a renewal whose
    /// serving period began before that close bills the gap once (the meter continues), one whose period began
    /// after it opens the meter at the period's start. Answers whether the user may keep running.</summary>
    Task<BillingStanding> Renew(IReadOnlyList<MeterRenewal> renewals, DateTimeOffset at);

    Task<BillingStanding> GetStanding();

    Task<UsageReport> GetUsage(DateTimeOffset from, DateTimeOffset to);

    /// <summary>Start of every ISO week (Monday 00:00 UTC) with metered use, newest first.</summary>
    Task<IReadOnlyList<DateTimeOffset>> ListInvoiceWeeks();

    Task<SpendingView> SetSpendingLimit(decimal? limitUsd);

    Task<SpendingView> GetSpending();
}

namespace DeepDeploy.Contracts.Billing;

/// <summary>One user's money: GPU-time meters per instance, usage and weekly invoices, the spending limit.
/// Every event is idempotent per instance, so a repeated report never counts a second twice.</summary>
public interface IBillingLedgerGrain : IGrainWithStringKey
{
    Task MeterStart(MeterStart start);

    /// <summary>The instance is gone since <paramref name="at"/>. <paramref name="servingSince"/>: it served until
    /// then, in a period that began at that time (null: it was not serving), so a stop that arrives late (its first
    /// send failed) bills up to the stop even if the meter's lease closed it earlier.</summary>
    Task MeterStop(string instanceId, DateTimeOffset at, DateTimeOffset? servingSince);

    /// <summary>The instance stopped serving at <paramref name="at"/> (restarting), ending the serving period that
    /// began at <paramref name="servingSince"/>: its meter closes there until a renewal opens it again. Billed up to
    /// <paramref name="at"/> however late it arrives.</summary>
    Task MeterPause(string instanceId, DateTimeOffset at, DateTimeOffset servingSince);

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

using DeepDeploy.Contracts.Billing;
using DeepDeploy.Grains.Storage;
using DeepDeploy.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;

namespace DeepDeploy.Grains.Billing;

/// <summary>
/// A user's ledger. Meters hold intervals, not running sums: an event repeated after a crash changes
/// nothing, and a restarted ledger goes on from the intervals it persisted. Starts and stops are written
/// at once; renewals are checkpointed every <see cref="CheckpointPeriod"/>.
/// </summary>
public sealed class BillingLedgerGrain(
    [PersistentState("ledger", StorageNames.Default)] IPersistentState<BillingLedgerState> state,
    DeepCopier<BillingLedgerState> copier,
    TimeProvider time,
    ControlPlaneMetrics metrics,
    ILogger<BillingLedgerGrain> log) : Grain, IBillingLedgerGrain
{
    readonly SavedState<BillingLedgerState> _store = new(state, copier);

    public static readonly TimeSpan CheckpointPeriod = TimeSpan.FromSeconds(10);

    /// <summary>A meter not renewed for this long is closed at its last renewal: its instance was lost
    /// together with whatever reported it.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    public const int EventsKept = 50;

    DateTimeOffset _activatedAt;
    bool _dirty;

    BillingLedgerState S => _store.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _activatedAt = time.GetUtcNow();
        this.RegisterGrainTimer(CheckpointAsync, new GrainTimerCreationOptions(CheckpointPeriod, CheckpointPeriod));
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await _store.WriteAsync(cancellationToken);
        }
    }

    public async Task MeterStart(MeterStart start)
    {
        if (S.Meters.ContainsKey(start.InstanceId))
        {
            return; // a repeated start: already metered
        }

        S.Meters[start.InstanceId] = new Meter { Start = start, OpenSince = start.At, LastRenewed = start.At };
        await WriteAsync();
    }

    public async Task MeterStop(string instanceId, DateTimeOffset at, DateTimeOffset? servingSince)
    {
        if (!S.Meters.TryGetValue(instanceId, out var meter) || meter.Stopped)
        {
            return;
        }

        if (servingSince is { } since)
        {
            Serving(meter, since);
        }

        Metered(meter, at);
        meter.Close(at);
        meter.Stopped = true;
        await WriteAsync();
    }

    public async Task MeterPause(string instanceId, DateTimeOffset at, DateTimeOffset servingSince)
    {
        if (S.Meters.TryGetValue(instanceId, out var meter) && !meter.Stopped)
        {
            Serving(meter, servingSince);
            Metered(meter, at);
            meter.Close(at);
            meter.LastRenewed = at;
            await WriteAsync();
        }
    }

    public Task<BillingStanding> Renew(IReadOnlyList<MeterRenewal> renewals, DateTimeOffset at)
    {
        CloseExpired(time.GetUtcNow());
        foreach (var renewal in renewals)
        {
            if (S.Meters.TryGetValue(renewal.InstanceId, out var meter) && !meter.Stopped && at > meter.LastRenewed)
            {
                Metered(meter, at);
                Serving(meter, renewal.ServingSince);
                meter.LastRenewed = at;
                _dirty = true;
            }
        }

        return Task.FromResult(Standing(time.GetUtcNow()));
    }

    public Task<BillingStanding> GetStanding() => Task.FromResult(Standing(time.GetUtcNow()));

    public Task<UsageReport> GetUsage(DateTimeOffset from, DateTimeOffset to)
    {
        var now = time.GetUtcNow();
        CloseExpired(now);
        return Task.FromResult(Usage(from, to, now));
    }

    public Task<IReadOnlyList<DateTimeOffset>> ListInvoiceWeeks()
    {
        var now = time.GetUtcNow();
        CloseExpired(now);
        var weeks = new SortedSet<DateTimeOffset>();
        foreach (var segment in S.Meters.Values.SelectMany(m => m.Intervals(now)))
        {
            for (var week = Money.WeekStart(segment.From); week < segment.To; week = week.AddDays(7))
            {
                weeks.Add(week);
            }
        }

        return Task.FromResult<IReadOnlyList<DateTimeOffset>>(weeks.Reverse().ToArray());
    }

    public async Task<SpendingView> SetSpendingLimit(decimal? limitUsd)
    {
        var now = time.GetUtcNow();
        var wasReached = Standing(now) is { MayRun: false };
        S.LimitUsd = limitUsd;
        // A new limit gets its own warnings.
        S.WarnedPeriod = null;
        S.ReachedPeriod = null;
        if (wasReached && Standing(now).MayRun)
        {
            AddEvent(now, "resumed", $"Spending limit raised to {Describe(limitUsd)}: instances may run again.");
        }

        Standing(now);
        await WriteAsync();
        return Spending(now);
    }

    public Task<SpendingView> GetSpending() => Task.FromResult(Spending(time.GetUtcNow()));

    async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        CloseExpired(now);
        Standing(now);
        if (_dirty)
        {
            await WriteAsync();
        }
    }

    /// <summary>Closes at its last renewal every meter whose lease ran out (checked at each checkpoint and renewal, and
    /// before usage is read). A new activation first gives its reporters a lease to renew.</summary>
    void CloseExpired(DateTimeOffset now)
    {
        if (now - _activatedAt < Lease)
        {
            return;
        }

        foreach (var meter in S.Meters.Values.Where(m => m.OpenSince is not null && now - m.LastRenewed > Lease))
        {
            log.LogWarning("Meter of {InstanceId} not renewed since {LastRenewed}: closed there", meter.Start.InstanceId, meter.LastRenewed);
            meter.Close(meter.LastRenewed);
            _dirty = true;
        }
    }

    /// <summary>Raises the month's 80% warning and limit-reached events, once each.</summary>
    void RecordLimitEvents(DateTimeOffset now, decimal spent, decimal limit)
    {
        var period = Money.MonthStart(now);
        if (spent >= limit && S.ReachedPeriod != period)
        {
            S.ReachedPeriod = period;
            AddEvent(now, "limit_reached", $"Spent {spent} USD of the {limit} USD monthly limit: instances are stopped, creates and scale-ups refused.");
        }
        else if (spent >= 0.8m * limit && spent < limit && S.WarnedPeriod != period)
        {
            S.WarnedPeriod = period;
            AddEvent(now, "warning", $"Spent {spent} USD: 80% of the {limit} USD monthly limit.");
        }
    }

    void AddEvent(DateTimeOffset at, string kind, string message)
    {
        log.LogWarning("Billing {User}: {Message}", this.GetPrimaryKeyString(), message);
        S.Events.Add(new BillingEvent(at, kind, message));
        if (S.Events.Count > EventsKept)
        {
            S.Events.RemoveRange(0, S.Events.Count - EventsKept);
        }

        _dirty = true;
    }

    BillingStanding Standing(DateTimeOffset now)
    {
        if (S.LimitUsd is not { } limit)
        {
            return new BillingStanding(true, null);
        }

        var spent = Usage(Money.MonthStart(now), now, now).TotalUsd;
        RecordLimitEvents(now, spent, limit);
        return spent < limit
            ? new BillingStanding(true, null)
            : new BillingStanding(false, $"spending limit of {limit} USD reached for this month ({spent} USD spent)");
    }

    SpendingView Spending(DateTimeOffset now)
    {
        Standing(now); // records the events the answer shows
        var period = Money.MonthStart(now);
        var spent = Usage(period, now, now).TotalUsd;
        var limit = S.LimitUsd;
        return new SpendingView(limit, spent, period, period.AddMonths(1),
            limit is { } l && spent >= 0.8m * l, limit is { } m && spent >= m, S.Events.ToArray());
    }

    UsageReport Usage(DateTimeOffset from, DateTimeOffset to, DateTimeOffset now)
    {
        var lines = S.Meters.Values
            .Select(m => (m.Start, Seconds: m.Intervals(now).Sum(i => Money.Seconds(Max(i.From, from), Min(i.To, to)))))
            .Where(m => m.Seconds > 0)
            .GroupBy(m => (m.Start.DeployId, m.Start.ModelName, m.Start.Gpu, m.Start.NumGpus, m.Start.UsdPerGpuHour))
            .Select(g =>
            {
                var seconds = g.Sum(m => m.Seconds);
                var gpuSeconds = seconds * g.Key.NumGpus;
                return new UsageLine(g.Key.DeployId, g.Key.ModelName, g.Key.Gpu, g.Key.NumGpus, seconds, gpuSeconds,
                    Money.Amount(gpuSeconds, g.Key.UsdPerGpuHour));
            })
            .OrderBy(l => l.ModelName, StringComparer.Ordinal)
            .ThenBy(l => l.DeployId, StringComparer.Ordinal)
            .ToArray();
        return new UsageReport(from, to, lines, lines.Sum(l => l.AmountUsd));
    }

    /// <summary>The instance has served since <paramref name="since"/> (a renewal, or the period a pause or stop ends):
    /// the meter is open for that period.</summary>
    static void Serving(Meter meter, DateTimeOffset since)
    {
        if (meter.OpenSince is not null && since > meter.LastRenewed)
        {
            // It restarted since the last renewal and the pause never arrived: that period ended unseen.
            meter.Close(meter.LastRenewed);
        }

        if (meter.OpenSince is null)
        {
            // Closed by a pause or an expired lease, and seen serving again (or until a pause or stop that came late).
            meter.Reopen(since);
        }
    }

    /// <summary>Counts an open meter's time since its last renewal (a closed one's gap is not billed).</summary>
    void Metered(Meter meter, DateTimeOffset at)
    {
        if (meter.OpenSince is not null)
        {
            metrics.Metered(this.GetPrimaryKeyString(), meter.Start, meter.LastRenewed, at);
        }
    }

    async Task WriteAsync()
    {
        await _store.WriteAsync();
        _dirty = false;
    }

    static string Describe(decimal? limit) => limit is { } l ? $"{l} USD" : "none";

    static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}

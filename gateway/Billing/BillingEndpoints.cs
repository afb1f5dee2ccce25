using System.Globalization;
using System.Text.RegularExpressions;
using DeepDeploy.Contracts.Billing;
using DeepDeploy.Contracts.Users;
using DeepDeploy.Gateway.Auth;
using DeepDeploy.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DeepDeploy.Gateway.Billing;

/// <summary>Usage, weekly invoices (ISO weeks, UTC) and the monthly spending limit.</summary>
public static partial class BillingEndpoints
{
    public static void MapBillingEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/billing").WithTags("Billing").RequireAuthorization(p => p.RequireRole(Roles.User));
        group.MapGet("/usage", Usage).WithSummary("GPU seconds and cost per deployment in [from, to) (default: this month)");
        group.MapGet("/invoices", Invoices).WithSummary("Weekly invoices (ISO weeks, Monday 00:00 UTC), newest first");
        group.MapGet("/invoices/{week}", Invoice).WithSummary("One weekly invoice, e.g. 2026-W48, with a line per deployment");
        group.MapGet("/limit", GetLimit).WithSummary("The monthly spending limit, what was spent, warnings");
        group.MapPut("/limit", SetLimit).WithSummary("Set or remove (usd: null) the monthly spending limit").Accepts<LimitBody>("application/json");
        app.MapGet("/admin/billing", Totals).WithTags("Operator").WithSummary("Totals per user: this month and all time")
            .RequireAuthorization(p => p.RequireRole(Roles.Operator));
    }

    static async Task<IResult> Usage(HttpContext http, IGrainFactory grains, TimeProvider time, string? from, string? to)
    {
        var now = time.GetUtcNow();
        var start = ParseInstant(from, "from") ?? new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var end = ParseInstant(to, "to") ?? now;
        if (end <= start)
        {
            throw new BadRequestException("to", "'to' must be after 'from'.");
        }

        var report = await Ledger(http, grains).GetUsage(start, end);
        return Results.Ok(new
        {
            from = report.From,
            to = report.To,
            deployments = report.Lines.Select(l => new
            {
                deploy_id = l.DeployId,
                model_name = l.ModelName,
                gpu = l.Gpu,
                num_gpus = l.NumGpus,
                seconds = Math.Round(l.Seconds, 3),
                gpu_seconds = Math.Round(l.GpuSeconds, 3),
                cost_usd = l.AmountUsd,
            }),
            total_usd = report.TotalUsd,
        });
    }

    static async Task<IResult> Invoices(HttpContext http, IGrainFactory grains)
    {
        var ledger = Ledger(http, grains);
        var weeks = await ledger.ListInvoiceWeeks();
        var invoices = new List<object>();
        foreach (var week in weeks)
        {
            var usage = await ledger.GetUsage(week, week.AddDays(7));
            invoices.Add(new { week = WeekName(week), from = week, to = week.AddDays(7), total_usd = usage.TotalUsd });
        }

        return Results.Ok(invoices);
    }

    static async Task<IResult> Invoice(HttpContext http, IGrainFactory grains, string week)
    {
        var match = WeekPattern().Match(week);
        if (!match.Success)
        {
            throw new BadRequestException("week", $"'{week}' is not an ISO week like 2026-W48.");
        }

        var year = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var number = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
        if (year is < 2000 or > 9000 || number < 1 || number > ISOWeek.GetWeeksInYear(year))
        {
            throw new BadRequestException("week", $"'{week}' is not an ISO week of {year}.");
        }

        var start = new DateTimeOffset(ISOWeek.ToDateTime(year, number, DayOfWeek.Monday), TimeSpan.Zero);
        var usage = await Ledger(http, grains).GetUsage(start, start.AddDays(7));
        return Results.Ok(new
        {
            week = WeekName(start),
            from = start,
            to = start.AddDays(7),
            lines = usage.Lines.Select(l => new
            {
                deploy_id = l.DeployId,
                model_name = l.ModelName,
                gpu = l.Gpu,
                num_gpus = l.NumGpus,
                hours = Math.Round(l.Seconds / 3600m, 4),
                gpu_hours = Math.Round(l.GpuSeconds / 3600m, 4),
                amount_usd = l.AmountUsd,
            }),
            total_usd = usage.TotalUsd,
        });
    }

    static async Task<IResult> GetLimit(HttpContext http, IGrainFactory grains) =>
        Results.Ok(Describe(await Ledger(http, grains).GetSpending()));

    static async Task<IResult> SetLimit(HttpContext http, IGrainFactory grains)
    {
        var limit = (await JsonBody.ReadAsync(http.Request, RequestJsonContext.Default.LimitBody, http.RequestAborted)).Validate();
        return Results.Ok(Describe(await Ledger(http, grains).SetSpendingLimit(limit)));
    }

    static async Task<IResult> Totals(IGrainFactory grains, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var month = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var users = await grains.GetGrain<IUserDirectoryGrain>(IUserDirectoryGrain.Key).List();
        var rows = await Task.WhenAll(users.Select(async user =>
        {
            var ledger = grains.GetGrain<IBillingLedgerGrain>(user);
            var thisMonth = await ledger.GetUsage(month, now);
            var allTime = await ledger.GetUsage(DateTimeOffset.UnixEpoch, now);
            var spending = await ledger.GetSpending();
            return new
            {
                user,
                month_usd = thisMonth.TotalUsd,
                all_time_usd = allTime.TotalUsd,
                gpu_hours_all_time = Math.Round(allTime.Lines.Sum(l => l.GpuSeconds) / 3600m, 4),
                limit_usd = spending.LimitUsd,
            };
        }));
        return Results.Ok(new { users = rows, total_month_usd = rows.Sum(r => r.month_usd), total_all_time_usd = rows.Sum(r => r.all_time_usd) });
    }

    static object Describe(SpendingView v) => new
    {
        limit_usd = v.LimitUsd,
        period = "month",
        period_start = v.PeriodStart,
        period_end = v.PeriodEnd,
        spent_usd = v.SpentUsd,
        warning = v.Warning,
        reached = v.Reached,
        events = v.Events.Select(e => new { at = e.At, kind = e.Kind, message = e.Message }),
    };

    static IBillingLedgerGrain Ledger(HttpContext http, IGrainFactory grains) =>
        grains.GetGrain<IBillingLedgerGrain>(http.User.Identity!.Name!);

    static DateTimeOffset? ParseInstant(string? text, string field)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return InstantPattern().IsMatch(text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw new BadRequestException(field, $"'{field}' must be an ISO 8601 date or time, e.g. 2026-11-23 or 2026-11-23T10:00:00Z.");
    }

    static string WeekName(DateTimeOffset weekStart) =>
        string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(weekStart.UtcDateTime)}-W{ISOWeek.GetWeekOfYear(weekStart.UtcDateTime):00}");

    [GeneratedRegex(@"^([0-9]{4})-W([0-9]{2})\z")]
    private static partial Regex WeekPattern();

    /// <summary>ISO 8601 in ASCII, nothing around it: the parser alone accepts white space and many other forms.</summary>
    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,7})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?\z")]
    private static partial Regex InstantPattern();
}

using DeepDeploy.Contracts.Billing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Billing;

public sealed class LedgerTests(ITestOutputHelper output)
{
    const decimal Price = 2.00m;

    static MeterStart Start(string instance, int gpus, DateTimeOffset at, string deployment = "dep") =>
        new(instance, deployment, "user/model", "A100-80GB", gpus, Price, at);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Random_starts_stops_repeats_and_crashes_bill_exactly_the_true_running_time(int seed)
    {
        await using var ledgerCluster = await LedgerCluster.StartAsync();
        var random = new Random(seed);
        var ledger = ledgerCluster.Cluster.Client.GetGrain<IBillingLedgerGrain>($"prop-{seed}");

        // Timestamps are explicit and lie in the recent past, so the truth is known to the tick.
        var t = DateTimeOffset.UtcNow.AddHours(-6);
        var origin = t;
        var open = new Dictionary<string, (DateTimeOffset Start, int Gpus)>();
        var truthGpuSeconds = 0m;
        var instances = 0;
        var crashes = 0;
        for (var step = 0; step < 80; step++)
        {
            t = t.AddSeconds(random.Next(1, 600)).AddMilliseconds(random.Next(0, 1000));
            switch (random.Next(6))
            {
                case 0 or 1 when open.Count < 4:
                    var id = $"i{++instances}";
                    var gpus = random.Next(1, 5);
                    open[id] = (t, gpus);
                    await ledger.MeterStart(Start(id, gpus, t));
                    if (random.Next(3) == 0)
                    {
                        await ledger.MeterStart(Start(id, gpus, t.AddSeconds(5))); // a repeated report changes nothing
                    }

                    break;
                case 2 or 3 when open.Count > 0:
                    var (stopId, meter) = open.ElementAt(random.Next(open.Count));
                    open.Remove(stopId);
                    truthGpuSeconds += (decimal)(t - meter.Start).TotalSeconds * meter.Gpus;
                    await ledger.MeterStop(stopId, t, meter.Start);
                    if (random.Next(3) == 0)
                    {
                        await ledger.MeterStop(stopId, t.AddMinutes(10), meter.Start); // a late duplicate stop changes nothing
                    }

                    break;
                case 4:
                    await ledger.Renew(open.Select(o => new MeterRenewal(o.Key, o.Value.Start)).ToArray(), t);
                    break;
                default:
                    if (crashes < 2)
                    {
                        // Twice, so that the ledger's silo is surely among the killed.
                        await ledgerCluster.RotateAsync();
                        await ledgerCluster.RotateAsync();
                        crashes++;
                    }

                    break;
            }
        }

        t = t.AddSeconds(30);
        foreach (var (id, meter) in open)
        {
            truthGpuSeconds += (decimal)(t - meter.Start).TotalSeconds * meter.Gpus;
            await ledger.MeterStop(id, t, meter.Start);
        }

        // Σ over every weekly invoice = Σ true GPU-seconds × price.
        var billedGpuSeconds = 0m;
        var billedUsd = 0m;
        foreach (var week in await ledger.ListInvoiceWeeks())
        {
            var invoice = await ledger.GetUsage(week, week.AddDays(7));
            billedGpuSeconds += invoice.Lines.Sum(l => l.GpuSeconds);
            billedUsd += invoice.TotalUsd;
        }

        output.WriteLine($"seed {seed}: {instances} instances, {crashes * 2} silo kills, truth {truthGpuSeconds:F3} GPU-s, billed {billedGpuSeconds:F3} GPU-s, {billedUsd} USD");
        Assert.True(instances > 3, "the sequence should start several instances");
        Assert.InRange(billedGpuSeconds, truthGpuSeconds - instances, truthGpuSeconds + instances);
        var all = await ledger.GetUsage(origin, t.AddSeconds(1));
        Assert.Equal(Math.Round(truthGpuSeconds * Price / 3600m, 2), Math.Round(all.Lines.Sum(l => l.GpuSeconds) * Price / 3600m, 2));
    }

    [Fact]
    public async Task Totals_continue_from_the_last_checkpoint_after_the_ledger_silo_dies()
    {
        await using var ledgerCluster = await LedgerCluster.StartAsync();
        var ledger = ledgerCluster.Cluster.Client.GetGrain<IBillingLedgerGrain>("crash-user");
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        await ledger.MeterStart(Start("a", 2, start));
        await ledger.MeterStart(Start("b", 1, start.AddMinutes(1)));
        await ledger.MeterStop("b", start.AddMinutes(3), start.AddMinutes(1));

        await ledgerCluster.RotateAsync();
        await ledgerCluster.RotateAsync();

        // b's two minutes survived; a is still open and is billed until it stops; repeats count nothing.
        await ledger.MeterStart(Start("a", 2, start.AddMinutes(2)));
        await ledger.MeterStop("b", start.AddMinutes(4), start.AddMinutes(1));
        await ledger.MeterStop("a", start.AddMinutes(5), start);
        var usage = await ledger.GetUsage(start.AddHours(-1), start.AddHours(1));
        Assert.Equal(5 * 60 * 2 + 2 * 60 * 1, usage.Lines.Sum(l => l.GpuSeconds));
        Assert.Equal(Math.Round((600m + 120m) * Price / 3600m, 2), usage.TotalUsd);
    }

    [Fact]
    public async Task An_instance_running_across_sunday_midnight_is_split_between_two_weekly_invoices()
    {
        var monday = new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
        await using var ledgerCluster = await LedgerCluster.StartAsync(silos: 1, new FakeTimeProvider(monday.AddDays(2)));
        var ledger = ledgerCluster.Cluster.Client.GetGrain<IBillingLedgerGrain>("week-user");

        await ledger.MeterStart(Start("x", 2, monday.AddHours(-1), "weekend"));
        await ledger.MeterStop("x", monday.AddHours(3), monday.AddHours(-1));

        var weeks = await ledger.ListInvoiceWeeks();
        Assert.Equal([monday, monday.AddDays(-7)], weeks);
        var before = await ledger.GetUsage(monday.AddDays(-7), monday);
        var after = await ledger.GetUsage(monday, monday.AddDays(7));
        Assert.Equal(3600m, Assert.Single(before.Lines).Seconds);
        Assert.Equal(3 * 3600m, Assert.Single(after.Lines).Seconds);
        Assert.Equal(4.00m, before.TotalUsd); // 1 h × 2 GPUs × 2 USD
        Assert.Equal(12.00m, after.TotalUsd);
    }

    [Fact]
    public async Task Spending_limit_warns_at_80_percent_and_refuses_at_the_limit()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var ledgerCluster = await LedgerCluster.StartAsync(silos: 1, clock);
        var ledger = ledgerCluster.Cluster.Client.GetGrain<IBillingLedgerGrain>("limit-user");
        var from = clock.GetUtcNow().AddHours(-2);
        await ledger.MeterStart(Start("s", 1, from));
        await ledger.MeterStop("s", from.AddHours(1), from); // 2 USD spent this month

        Assert.True((await ledger.GetStanding()).MayRun);
        var warned = await ledger.SetSpendingLimit(2.40m);
        Assert.True(warned.Warning);
        Assert.False(warned.Reached);
        Assert.Contains(warned.Events, e => e.Kind == "warning");
        Assert.True((await ledger.GetStanding()).MayRun);

        var reached = await ledger.SetSpendingLimit(1.50m);
        Assert.True(reached.Reached);
        Assert.Contains(reached.Events, e => e.Kind == "limit_reached");
        var standing = await ledger.GetStanding();
        Assert.False(standing.MayRun);
        Assert.Contains("1.50 USD", standing.Reason);

        var raised = await ledger.SetSpendingLimit(100m);
        Assert.False(raised.Reached);
        Assert.Contains(raised.Events, e => e.Kind == "resumed");
        Assert.True((await ledger.Renew([], clock.GetUtcNow())).MayRun);
    }
}

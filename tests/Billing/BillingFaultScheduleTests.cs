using DeepDeploy.Contracts.Billing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace DeepDeploy.Tests.Billing;

/// <summary>
/// A property over random fault schedules, on a real TestingHost silo whose grain state lives in SQLite and whose
/// clock is fake: instances start, serve, restart (pause, then serve again), stop; their deployment's renewals stop
/// for longer than the lease (its silo is gone) and come back; the ledger is deactivated and read back from storage;
/// its storage is down for a while, during which the deployment keeps the pauses and stops the ledger could not take
/// and sends nothing else, then sends them in order, with the times they happened (<c>DeploymentMeter</c>'s rule).
/// Whatever the schedule, the weekly invoices add up to Σ serving GPU-seconds × price. The seed is printed, so a
/// failing schedule replays.
/// </summary>
public sealed class BillingFaultScheduleTests(ITestOutputHelper output)
{
    const decimal Price = 2.00m;
    const int Steps = 100;

    sealed class Instance(string id, int gpus)
    {
        public string Id { get; } = id;
        public int Gpus { get; } = gpus;
        public DateTimeOffset? ServingSince { get; set; }
        public bool Stopped { get; set; }
    }

    [Fact]
    public async Task Invoices_equal_serving_GPU_seconds_times_price_over_random_fault_schedules()
    {
        // Sunday evening: the schedules cross into the next invoice week.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 21, 0, 0, TimeSpan.Zero));
        await using var cluster = await LedgerCluster.StartAsync(silos: 1, clock);
        foreach (var seed in new[] { 11, 22, 33 })
        {
            try
            {
                await RunScheduleAsync(cluster, clock, seed);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"fault schedule with seed {seed} failed: {e.Message}", e);
            }
        }
    }

    async Task RunScheduleAsync(LedgerCluster cluster, FakeTimeProvider clock, int seed)
    {
        var random = new Random(seed);
        var ledger = cluster.Cluster.Client.GetGrain<IBillingLedgerGrain>($"faults-{seed}");
        var management = cluster.Cluster.Client.GetGrain<IManagementGrain>(0);
        var instances = new List<Instance>();
        var truthGpuSeconds = 0m;
        var (gaps, restarts, deactivations, outages) = (0, 0, 0, 0);
        var outageSteps = 0;
        var unsent = new List<Func<Task>>();

        void Served(Instance instance, DateTimeOffset until)
        {
            truthGpuSeconds += Money(instance.ServingSince!.Value, until) * instance.Gpus;
            instance.ServingSince = null;
        }

        async Task RenewAsync()
        {
            if (outageSteps > 0)
            {
                return; // the ledger takes nothing; the deployment holds its renewals behind what it could not send
            }

            foreach (var call in unsent)
            {
                await call();
            }

            unsent.Clear();
            await ledger.Renew(
                instances.Where(i => i.ServingSince is not null).Select(i => new MeterRenewal(i.Id, i.ServingSince!.Value)).ToArray(),
                clock.GetUtcNow());
        }

        // A pause or stop: sent at once, or kept (with its time) while the ledger's storage is down.
        async Task SendAsync(Func<Task> call)
        {
            if (outageSteps > 0)
            {
                unsent.Add(call);
            }
            else
            {
                await call();
            }
        }

        for (var step = 0; step < Steps; step++)
        {
            var live = instances.Where(i => !i.Stopped).ToList();
            var serving = live.Where(i => i.ServingSince is not null).ToList();
            var paused = live.Where(i => i.ServingSince is null).ToList();
            var roll = random.Next(100);
            if (roll < 12 && live.Count < 4)
            {
                var instance = new Instance($"i{instances.Count + 1}", random.Next(1, 5)) { ServingSince = clock.GetUtcNow() };
                instances.Add(instance);
                await ledger.MeterStart(new MeterStart(instance.Id, "dep", "user/model", "A100-80GB", instance.Gpus, Price, clock.GetUtcNow()));
            }
            else if (roll < 20 && live.Count > 0)
            {
                var instance = live[random.Next(live.Count)];
                var (at, since) = (clock.GetUtcNow(), instance.ServingSince);
                if (instance.ServingSince is not null)
                {
                    Served(instance, at);
                }

                instance.Stopped = true;
                await SendAsync(() => ledger.MeterStop(instance.Id, at, since));
            }
            else if (roll < 28 && serving.Count > 0)
            {
                // Its engine crashed: not serving (not billed) until it runs again.
                var instance = serving[random.Next(serving.Count)];
                var (at, since) = (clock.GetUtcNow(), instance.ServingSince!.Value);
                Served(instance, at);
                await SendAsync(() => ledger.MeterPause(instance.Id, at, since));
                restarts++;
            }
            else if (roll < 36 && paused.Count > 0)
            {
                // Serving again: the next renewal says since when.
                paused[random.Next(paused.Count)].ServingSince = clock.GetUtcNow();
            }
            else if (roll < 44)
            {
                // The deployment's silo is gone for longer than the lease: nothing renews, the instances serve on,
                // the ledger closes their meters at the last renewal. The deployment comes back and renews first.
                clock.Advance(TimeSpan.FromSeconds(random.Next(31, 600)));
                await RenewAsync();
                gaps++;
            }
            else if (roll < 48)
            {
                await management.ForceActivationCollection(TimeSpan.Zero);
                deactivations++;
            }
            else if (roll < 52 && outageSteps == 0)
            {
                // The ledger's storage is down for 1-30 steps (about 2 s each): up to a minute, past the lease.
                outageSteps = random.Next(1, 31);
                outages++;
            }

            // The control loop's tick: a renewal every 2 s or so.
            clock.Advance(TimeSpan.FromMilliseconds(random.Next(500, 4000)));
            if (outageSteps > 0)
            {
                outageSteps--;
            }

            await RenewAsync();
        }

        outageSteps = 0;
        await RenewAsync();
        foreach (var instance in instances.Where(i => !i.Stopped))
        {
            var since = instance.ServingSince;
            if (since is not null)
            {
                Served(instance, clock.GetUtcNow());
            }

            await ledger.MeterStop(instance.Id, clock.GetUtcNow(), since);
        }

        var billedGpuSeconds = 0m;
        var billedUsd = 0m;
        var lines = 0;
        foreach (var week in await ledger.ListInvoiceWeeks())
        {
            var invoice = await ledger.GetUsage(week, week.AddDays(7));
            billedGpuSeconds += invoice.Lines.Sum(l => l.GpuSeconds);
            billedUsd += invoice.TotalUsd;
            lines += invoice.Lines.Count;
        }

        output.WriteLine($"seed {seed}: {instances.Count} instances, {gaps} lease gaps, {restarts} restarts, {deactivations} deactivations, {outages} storage outages; " +
            $"truth {truthGpuSeconds:F3} GPU-s, billed {billedGpuSeconds:F3} GPU-s, {billedUsd} USD");
        Assert.True(gaps > 0 && restarts > 0 && outages > 0, "the schedule should hold lease gaps, restarts and storage outages");
        Assert.Equal(truthGpuSeconds, billedGpuSeconds);
        Assert.InRange(billedUsd, truthGpuSeconds * Price / 3600m - 0.01m * lines, truthGpuSeconds * Price / 3600m + 0.01m * lines);
    }

    static decimal Money(DateTimeOffset from, DateTimeOffset to) => (decimal)(to - from).Ticks / TimeSpan.TicksPerSecond;
}

using DeepDeploy.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;

namespace DeepDeploy.Tests.Storage;

/// <summary>
/// The reminder table contract our SQL scripts must keep on every store (rows, etags, the hash ring's ranges), and a
/// reminder that keeps firing after the whole cluster restarted, written once. Each store is a small subclass that
/// adds the reminder service to a silo, counts its rows, and marks the checks as facts under its own rule.
/// </summary>
public abstract class ReminderContract : IAsyncLifetime
{
    /// <summary>Rows are keyed by ServiceId: one per test, kept across the clusters it starts.</summary>
    protected string ServiceId { get; } = "rem-" + Guid.NewGuid().ToString("N");

    public abstract Task InitializeAsync();

    public abstract Task DisposeAsync();

    protected abstract void AddReminders(ISiloBuilder silo);

    /// <summary>Reminder rows of this test's service.</summary>
    protected abstract Task<long> CountRemindersAsync();

    async Task<InProcessTestCluster> StartClusterAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = ServiceId;
        builder.ConfigureSilo((_, silo) =>
        {
            AddReminders(silo);
            silo.Configure<ReminderOptions>(o =>
            {
                o.MinimumReminderPeriod = TimeSpan.FromSeconds(1);
                o.RefreshReminderListPeriod = TimeSpan.FromSeconds(1);
            });
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    static async Task StopAsync(InProcessTestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    protected async Task TableReadsWritesRangesAndETagsAsync()
    {
        var cluster = await StartClusterAsync();
        try
        {
            var table = cluster.GetSiloServiceProvider(cluster.Silos[0].SiloAddress).GetRequiredService<IReminderTable>();
            var start = new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);
            var grains = Enumerable.Range(0, 6).Select(i => GrainId.Create("probe", $"g{i}")).ToArray();

            var etag = await table.UpsertRow(new ReminderEntry { GrainId = grains[0], ReminderName = "a", StartAt = start, Period = TimeSpan.FromMinutes(1) });
            var etag2 = await table.UpsertRow(new ReminderEntry { GrainId = grains[0], ReminderName = "a", StartAt = start, Period = TimeSpan.FromDays(40) });
            Assert.NotEqual(etag, etag2);
            var row = (await table.ReadRow(grains[0], "a"))!;
            Assert.Equal(start, row.StartAt.ToUniversalTime());
            Assert.Equal(TimeSpan.FromDays(40), row.Period); // more milliseconds than an int holds
            Assert.Equal(etag2, row.ETag);

            foreach (var grain in grains)
            {
                await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "b", StartAt = start, Period = TimeSpan.FromMinutes(2) });
            }

            Assert.Equal(2, (await table.ReadRows(grains[0])).Reminders.Count);

            // The ring, as the provider sees it: signed 32-bit hashes, owned ranges (begin, end]. begin < end is a
            // plain range (ReadRangeRows1Key), otherwise it wraps around (ReadRangeRows2Key); begin == end is all.
            var hashes = grains.Select(g => (int)g.GetUniformHashCode()).Order().ToArray();
            var begin = hashes[0] - 1;
            var middle = hashes[2];
            var all = (await table.ReadRows((uint)middle, (uint)middle)).Reminders;
            Assert.Equal(grains.Length + 1, all.Count);
            var lower = (await table.ReadRows((uint)begin, (uint)middle)).Reminders;
            var upper = (await table.ReadRows((uint)middle, (uint)begin)).Reminders;
            Assert.Equal(all.Count, lower.Count + upper.Count);
            Assert.True(lower.Count >= 3);
            Assert.All(lower, r => Assert.InRange((int)r.GrainId.GetUniformHashCode(), begin + 1, middle));
            Assert.All(upper, r => Assert.False((int)r.GrainId.GetUniformHashCode() is var h && h > begin && h <= middle));

            Assert.False(await table.RemoveRow(grains[0], "a", etag!)); // stale etag
            Assert.True(await table.RemoveRow(grains[0], "a", etag2!));
            Assert.Null(await table.ReadRow(grains[0], "a"));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    protected async Task FiresAgainAfterTheClusterRestartedAsync()
    {
        var key = "probe-" + Guid.NewGuid().ToString("N");
        var cluster = await StartClusterAsync();
        await cluster.Client.GetGrain<IReminderProbeGrain>(key).StartAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await WaitForTicksAsync(key, 1);
        await StopAsync(cluster);

        var before = ReminderProbeGrain.Ticks[key];
        cluster = await StartClusterAsync();
        try
        {
            // Nobody calls the grain: the reminder service loads it from the store and activates the grain.
            await WaitForTicksAsync(key, before + 1);
            await cluster.Client.GetGrain<IReminderProbeGrain>(key).StopAsync();
            Assert.Equal(0L, await CountRemindersAsync());
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    static Task WaitForTicksAsync(string key, int atLeast) =>
        Eventually.TrueAsync(() => ReminderProbeGrain.Ticks.GetValueOrDefault(key) >= atLeast, TimeSpan.FromSeconds(30),
            $"reminder of {key} ticked {atLeast} times");
}
